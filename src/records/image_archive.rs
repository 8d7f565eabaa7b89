//! Image records as people send them: a `.zip` of PNG or JPEG files with a `labels.csv`
//! (`file,label[,member]`) inside it or beside it. The container and the labels table are read
//! here, in the engine (so that they are fuzzed with the other readers and a large zip is
//! unpacked in the worker, not on the page's thread); the browser decodes the images.

use super::{Location, RecordsError};
use std::collections::HashMap;
use std::io::Read;

/// The most bytes a zip may unpack to: a zip bomb stops with a message instead of filling
/// the memory.
pub const MAX_UNPACKED_BYTES: u64 = 1 << 30;

/// One file of an archive, by its name without folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveEntry {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// One row of `labels.csv`: the image's class and, when given, its membership.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ImageLabel {
    pub label: usize,
    pub member: Option<bool>,
}

/// The files of the zip `bytes` (named `file`), folders dropped from their names.
pub fn unpack_zip(file: &str, bytes: &[u8]) -> Result<Vec<ArchiveEntry>, RecordsError> {
    let failed = |message: String| RecordsError::Archive {
        file: file.to_string(),
        message,
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| failed(format!("not a readable zip archive ({e})")))?;
    let mut entries: Vec<ArchiveEntry> = Vec::new();
    let mut unpacked = 0u64;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| failed(format!("entry {} cannot be read ({e})", index + 1)))?;
        if entry.is_dir() {
            continue;
        }
        let path = entry.name().replace('\\', "/");
        let name = path.rsplit('/').next().unwrap_or_default().to_string();
        if name.is_empty() || name.starts_with("._") || path.starts_with("__MACOSX/") {
            continue;
        }
        let room = MAX_UNPACKED_BYTES - unpacked;
        let mut content = Vec::new();
        (&mut entry)
            .take(room + 1)
            .read_to_end(&mut content)
            .map_err(|e| failed(format!("{path} cannot be unpacked ({e})")))?;
        unpacked += content.len() as u64;
        if unpacked > MAX_UNPACKED_BYTES {
            return Err(failed(format!(
                "it unpacks to more than {} MiB; send the images in smaller archives",
                MAX_UNPACKED_BYTES >> 20
            )));
        }
        if entries.iter().any(|e| e.name == name) {
            return Err(failed(format!(
                "two files are named {name} (in different folders); image names must be unique"
            )));
        }
        entries.push(ArchiveEntry {
            name,
            bytes: content,
        });
    }
    Ok(entries)
}

/// Reads `labels.csv` (columns `file` and `label`, optionally `member` 0/1); labels are
/// class indices, or names of `classes`.
pub fn read_image_labels(
    file: &str,
    bytes: &[u8],
    classes: Option<&[String]>,
) -> Result<HashMap<String, ImageLabel>, RecordsError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(bytes);
    let at = |line: u64| Location::line(file, line);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| RecordsError::Csv {
            at: at(1),
            message: e.to_string(),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let (Some(file_col), Some(label_col)) = (column("file"), column("label")) else {
        return Err(RecordsError::Archive {
            file: file.to_string(),
            message: format!(
                "needs columns 'file' and 'label' (found: {})",
                header.join(", ")
            ),
        });
    };
    let member_col = column("member");
    let mut rows = HashMap::new();
    for row in reader.records() {
        let row = row.map_err(|e| RecordsError::Csv {
            at: at(e.position().map_or(0, |p| p.line())),
            message: e.to_string(),
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let cell = |col: usize| row.get(col).unwrap_or("");
        let text = cell(label_col);
        let label = text
            .parse::<usize>()
            .ok()
            .or_else(|| classes.and_then(|c| c.iter().position(|name| name == text)))
            .ok_or_else(|| RecordsError::Csv {
                at: at(line),
                message: format!(
                    "label '{text}' is not a class index{}",
                    if classes.is_some() {
                        " or class name"
                    } else {
                        ""
                    }
                ),
            })?;
        let member = match member_col.map(cell) {
            None => None,
            Some("1") => Some(true),
            Some("0") => Some(false),
            Some(other) => {
                return Err(RecordsError::Csv {
                    at: at(line),
                    message: format!("member '{other}' is not 0 or 1"),
                });
            }
        };
        let name = cell(file_col).rsplit('/').next().unwrap_or_default();
        if rows
            .insert(name.to_string(), ImageLabel { label, member })
            .is_some()
        {
            return Err(RecordsError::Csv {
                at: at(line),
                message: format!("{name} has a second row"),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in files {
            if name.ends_with('/') {
                out.add_directory(*name, options).unwrap();
            } else {
                out.start_file(*name, options).unwrap();
                out.write_all(bytes).unwrap();
            }
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn entries_lose_their_folders_and_archive_litter_is_skipped() {
        let bytes = zip_of(&[
            ("set/", b""),
            ("set/a.png", b"png bytes"),
            ("labels.csv", b"file,label\na.png,1\n"),
            ("__MACOSX/set/._a.png", b"resource fork"),
        ]);
        let entries = unpack_zip("x.zip", &bytes).unwrap();
        let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a.png", "labels.csv"]);
        assert_eq!(entries[0].bytes, b"png bytes");
    }

    #[test]
    fn broken_or_ambiguous_archives_are_refused_with_a_reason() {
        let err = unpack_zip("x.zip", b"PK\x03\x04 not really").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("x.zip: not a readable zip archive"),
            "{err}"
        );
        let twice = zip_of(&[("a/1.png", b"1"), ("b/1.png", b"2")]);
        let err = unpack_zip("x.zip", &twice).unwrap_err();
        assert!(
            err.to_string().contains("two files are named 1.png"),
            "{err}"
        );
    }

    #[test]
    fn labels_take_indices_or_class_names_and_optional_membership() {
        let classes = ["cat".to_string(), "dog".to_string()];
        let rows = read_image_labels(
            "labels.csv",
            b"file,label,member\nimg/a.png,dog,1\nb.png,0,0\n",
            Some(&classes),
        )
        .unwrap();
        assert_eq!(
            rows["a.png"],
            ImageLabel {
                label: 1,
                member: Some(true)
            }
        );
        assert_eq!(rows["b.png"].member, Some(false));
        let err = read_image_labels("labels.csv", b"file,label\na.png,fish\n", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "labels.csv, line 2: label 'fish' is not a class index"
        );
        let err = read_image_labels("labels.csv", b"name,y\n", None).unwrap_err();
        assert!(
            err.to_string().contains("needs columns 'file' and 'label'"),
            "{err}"
        );
    }
}
