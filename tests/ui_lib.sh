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
