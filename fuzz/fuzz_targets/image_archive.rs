//! Image records' container and labels: a `.zip` of images (unpacked by the engine in the
//! page's worker) or a `labels.csv` (`file,label[,member]`), as the page reads them. The
//! first byte picks which, and whether labels may be class names.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [mode, file @ ..] = data else {
        return;
    };
    if mode & 1 == 0 {
        let _ = mialab::records::image_archive::unpack_zip("fuzz.zip", file);
    } else {
        let classes = ["cat".to_string(), "dog".to_string()];
        let names = (mode & 2 != 0).then_some(&classes[..]);
        let _ = mialab::records::image_archive::read_image_labels("labels.csv", file, names);
    }
});
