# Shared by the explorer's shell tests (sourced).  Builds a tiny random model
# for the minionerec fixture at test time from the fixture tokenizer, so the
# tests need nothing outside tests/: `sidr model init` + `sidr model add-sids`.
# Weights are deterministic for the seed.  ui_build_model DIR [INIT OPTIONS]
# (default: --preset tiny).
ui_build_model() {
  dir=$1
  shift
  [ $# -gt 0 ] || set -- --preset tiny
  mkdir -p "$dir/tok" &&
  cp "$TESTDIR/fixtures/tokenizer/tiny_bytelevel.json" "$dir/tok/tokenizer.json" &&
  "$SIDR" model init "$@" --seed 0 --tokenizer "$dir/tok" --out "$dir/base" >"$dir/build.log" 2>&1 &&
  "$SIDR" model add-sids --model "$dir/base" --data "$TESTDIR/fixtures/data/minionerec" --out "$dir/model" --seed 0 >>"$dir/build.log" 2>&1
}

# ui_perturb_model SRC DST [FACTOR]: a copy of model folder SRC in DST whose
# last layer's MLP output projection (bf16) is scaled by FACTOR (default
# 0.5): the same tokenizer and SID tokens, a model B that reasons a little
# differently, deterministic.  Needs python3.
ui_perturb_model() {
  python3 - "$1" "$2" "${3:-0.5}" <<'EOT'
import json, os, shutil, struct, sys
src, dst, factor = sys.argv[1], sys.argv[2], float(sys.argv[3])
os.makedirs(dst, exist_ok=True)
for f in os.listdir(src):
    if f != "model.safetensors":
        shutil.copy(os.path.join(src, f), os.path.join(dst, f))
b = bytearray(open(os.path.join(src, "model.safetensors"), "rb").read())
n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n])
last = json.load(open(os.path.join(src, "config.json")))["num_hidden_layers"] - 1
t = h["model.layers.%d.mlp.down_proj.weight" % last]
assert t["dtype"] == "BF16", t["dtype"]
lo, hi = (8 + n + o for o in t["data_offsets"])
for i in range(lo, hi, 2):
    x = struct.unpack("<f", b"\0\0" + bytes(b[i:i + 2]))[0] * factor
    u = struct.unpack("<I", struct.pack("<f", x))[0]
    b[i:i + 2] = struct.pack("<H", ((u + 0x7FFF + ((u >> 16) & 1)) >> 16) & 0xFFFF)
open(os.path.join(dst, "model.safetensors"), "wb").write(b)
EOT
}

# ui_eval_pair DIR: two small 'sidr eval --json'-shaped results of test rows
# 0..29 (A.json, B.json; ranks by formula, no user field) and a malformed one
# (bad.json), for the Users pane's eval-diff filter.
ui_eval_pair() {
  for side in a b; do
    awk -v s=$side 'BEGIN {
      printf "{\"split\":\"test\",\"model\":\"%s\",\"per_row\":[", s == "a" ? "A" : "B"
      for (r = 0; r < 30; r++) {
        if (s == "a") k = r % 5 == 0 ? 2 : r % 7 == 0 ? 0 : -1
        else k = r % 3 == 0 ? 4 : r % 7 == 0 ? 1 : -1
        printf "%s{\"row\":%d,\"rank\":%d}", r ? "," : "", r, k
      }
      print "]}" }' >"$1/$(echo $side | tr ab AB).json"
  done
  echo '{"split":"test","per_row":[{"row":0,"rank":"first"}]}' >"$1/bad.json"
}
