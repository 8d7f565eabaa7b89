#!/usr/bin/env bash
# Builds each fuzz target's seed corpus (fuzz/corpus/TARGET/) from files committed in the
# repository, small ones first so that the fuzzer mutates real formats quickly.
# Usage: bash fuzz/seed.sh [path/to/mialab]   (the CLI writes one small signals file)
set -euo pipefail
cd "$(dirname "$0")/.."
M=${1:-target/debug/mialab}
c=fuzz/corpus
rm -rf "$c"
mkdir -p "$c"/{onnx_model,csv_records,npy_records,signals_npz,keep_mask,schema_json,image_archive,provided_outputs}
cp models/fixtures/*.onnx models/fixtures/paper_default/model.onnx "$c/onnx_model/" 2>/dev/null || true
cp models/breast_cancer/model.onnx "$c/onnx_model/breast_cancer.onnx"
cp models/support2/targets/overfit.onnx "$c/onnx_model/support2.onnx"
cp models/fixtures/exporters/*.onnx "$c/onnx_model/"
ex=models/breast_cancer
head -c 2000 $ex/audit.csv > "$c/csv_records/plain.csv"
{ cat $ex/schema.json; printf '\0'; head -n 12 $ex/audit.csv; } > "$c/csv_records/with_schema"
{ cat $ex/schema.json; printf '\0'; head -n 12 $ex/audit.csv | tr ',' ';'; } > "$c/csv_records/semicolons"
for f in models/fixtures/*.npy tests/golden/support2_subset/audit_labels.npy tests/golden/support2_subset/audit_members.npy; do
  cp "$f" "$c/npy_records/$(echo "$f" | tr / _)"
done
"$M" signals --model $ex/model.onnx --records $ex/audit.csv --population $ex/population.csv --schema $ex/schema.json -q --out "$c/signals_npz/example.npz" > /dev/null
cp tests/golden/support2_subset/signals.npz "$c/signals_npz/support2_subset.npz"
python3 - "$c/keep_mask" <<'PY'
import sys, numpy as np
out = sys.argv[1]
keep = np.load('tests/golden/support2_subset/keep.npy')  # [models, records]
models, records = keep.shape
small = keep[:4, :16]
# first byte: format (0x80 = CSV) and models - 1; second: records - 1
with open(f'{out}/npy', 'wb') as f:
    f.write(bytes([small.shape[0] - 1, small.shape[1] - 1]))
    np.save(f, small)
with open(f'{out}/csv', 'wb') as f:
    f.write(bytes([0x80 | (small.shape[0] - 1), small.shape[1] - 1]))
    f.write((','.join(f'ref_{k:02}.onnx' for k in range(small.shape[0])) + '\n').encode())
    for r in range(small.shape[1]):
        f.write((','.join(str(int(v)) for v in small[:, r]) + '\n').encode())
PY
cp $ex/schema.json "$c/schema_json/schema.json"
"$M" settings > "$c/schema_json/settings.json"
"$M" settings --attack lira-online,code-poison --defence noise:0.1 --code-poison-normalization model:0.5:0.25 > "$c/schema_json/settings-2.json"
python3 - "$c/image_archive" <<'PY'
import io, sys, zipfile, numpy as np
out = sys.argv[1]
# first byte: 0 = a zip, 1 = labels.csv with indices, 3 = with class names
pixels = np.load('models/fashion_mnist/audit_features.npy', mmap_mode='r')[:2]
archive = io.BytesIO()
with zipfile.ZipFile(archive, 'w', zipfile.ZIP_DEFLATED) as z:
    for i, image in enumerate(pixels):
        z.writestr(f'images/{i}.raw', np.asarray(image).tobytes()[:200])
    z.writestr('labels.csv', 'file,label,member\nimages/0.raw,3,1\nimages/1.raw,7,0\n')
open(f'{out}/zip', 'wb').write(b'\0' + archive.getvalue())
open(f'{out}/labels', 'wb').write(b'\1file,label,member\n0.png,3,1\n"1.png",7,0\n')
open(f'{out}/names', 'wb').write(b'\3file,label\na.png,cat\nb.png,dog\n')
PY
o=models/fixtures/outputs
{ printf '\0'; head -n 12 $o/wine_logits.csv; } > "$c/provided_outputs/logits.csv"
{ printf '\0'; head -n 12 $o/wine_losses.csv; } > "$c/provided_outputs/losses.csv"
{ printf '\1'; cat $o/wine_attack_input.npz; } > "$c/provided_outputs/tf_privacy.npz"
{ printf '\1'; cat $o/wine_with_references.npz; } > "$c/provided_outputs/references.npz"
ls "$c"/* | head -40
