#!/bin/bash
# The GPU check of issue 14, run from the repo root on the device machine after
# scripts/gpu/build_cuda.sh made .devcheck/tarjama.gz (carry .devcheck):
#   bash scripts/gpu/check.sh
# 1. parity: `translate --format jsonl --ids` (beam default and greedy) and `summarize` on every
#    fixture family, --device cuda in f32/f16/bf16 against --device cpu f32 (whose ids equal
#    transformers' generate(), as the golden tests show);
# 2. the main job at full size (random weights, scripts/gpu/make_full_random.py) in tarjama and in
#    transformers (scripts/gpu/hf_main_job.py) on the same GPU, with forced lengths.
# GPU=cpu SMALL=--small NT=8 NS=20 runs it on a CPU machine (to test the script).
set -u
D=.devcheck; S=scripts/gpu; B=${TARJAMA_BIN:-/tmp/tarjama}
[ -x "$B" ] || { gunzip -c $D/tarjama.gz > $B; chmod +x $B; }
O=${OUT:-/tmp/devout}; mkdir -p $O
exec > >(tee -a $O/log.txt) 2>&1
GPU=${GPU:-cuda}; SMALL=${SMALL:-}; NT=${NT:-48}; NS=${NS:-100}
T0=$(date +%s); el() { echo "[+$(( $(date +%s) - T0 ))s] $*"; }
if [ "$GPU" = cuda ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; nproc
  NV=$(python3 -c "import nvidia;print(list(nvidia.__path__)[0])" 2>/dev/null); LP=""
  for l in libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libcudart.so.13; do
    p=$( (find $NV /usr/local/cuda* /usr/lib/x86_64-linux-gnu -name "$l" 2>/dev/null) | head -1)
    [ -n "$p" ] && LP="$LP:$(dirname $p)" || echo "missing $l"
  done
  export LD_LIBRARY_PATH=${LP#:}; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  ldd $B | grep -E "not found|libcu|nvrtc" ; python3 -c "import torch, transformers; print('torch', torch.__version__, 'transformers', transformers.__version__)"
fi
$B --version
A=$D/article.ar.txt; [ -f $A ] || cp ../shared/data/seed/article.ar.txt $A
el "smoke: one CUDA translation"
$B translate $A --model tests/fixtures/marian-tiny --device $GPU --quiet 2>&1 | head -c 300; echo
$B translate $A --model tests/fixtures/marian-tiny --device $GPU --quiet >/dev/null 2>&1 || { echo "CUDA smoke FAILED"; $B translate $A --model tests/fixtures/marian-tiny --device $GPU 2>&1 | tail -5; exit 1; }
EN=scripts/fixture_text/en.txt; W=/tmp/dc; mkdir -p $W
el "parity: translate (jsonl ids), cpu f32 vs $GPU f32/f16/bf16"
for m in marian-tiny opus-mt-ar-en-tiny tc-big-tiny m2m100-tiny nllb-tiny nllb-real-tiny; do
  x=""; case $m in m2m*) x="--src-lang ar --tgt-lang en";; nllb*) x="--src-lang arb_Arab --tgt-lang eng_Latn";; esac
  for beams in default 1; do
    bf=""; [ $beams = 1 ] && bf="--beams 1"
    timeout 60 $B translate $A --model tests/fixtures/$m $x $bf --format jsonl --ids --quiet --device cpu > $W/$m-$beams-cpu.jsonl 2>$W/err || { echo "$m cpu FAILED: $(tail -2 $W/err)"; continue; }
    for dt in f32 f16 bf16; do
      timeout 60 $B translate $A --model tests/fixtures/$m $x $bf --format jsonl --ids --quiet --device $GPU --dtype $dt > $W/$m-$beams-$dt.jsonl 2>$W/err \
        && echo "$m beams=$beams $dt: $(python3 $S/cmp_ids.py $W/$m-$beams-cpu.jsonl $W/$m-$beams-$dt.jsonl)" \
        || echo "$m beams=$beams $dt FAILED: $(tail -2 $W/err)"
    done
  done
done
el "parity: summarize (summary text), cpu f32 vs $GPU"
for m in bart-tiny distilbart-tiny t5-tiny t5-small-tiny mt5-tiny mt5-xlsum-tiny; do
  in=$EN; x=""; case $m in mt5*) in=$A; x="--lang ar";; esac
  timeout 60 $B summarize $in --model tests/fixtures/$m $x --format json --quiet --device cpu > $W/$m-s-cpu.json 2>$W/err || { echo "$m cpu FAILED: $(tail -2 $W/err)"; continue; }
  for dt in f32 f16 bf16; do
    timeout 60 $B summarize $in --model tests/fixtures/$m $x --format json --quiet --device $GPU --dtype $dt > $W/$m-s-$dt.json 2>$W/err \
      && python3 -c "import json,sys;a,b=(json.load(open(f))['summary']['text'] for f in sys.argv[1:]);print('$m $dt:', 'identical summary' if a==b else 'DIFFERENT summary')" $W/$m-s-cpu.json $W/$m-s-$dt.json \
      || echo "$m $dt FAILED: $(tail -2 $W/err)"
  done
done
el "full-size random models"
python3 $S/make_full_random.py tests/fixtures $W/full $SMALL || exit 1
TC=$W/full/tc-big-full; DB=$W/full/distilbart-full; du -sh $TC $DB
head -3 $A > $W/a3.txt
timeout 200 $B translate $W/a3.txt --model $TC --beams 1 --min-new-tokens 32 --max-new-tokens 32 --format jsonl --ids --quiet --device cpu > $W/full-cpu.jsonl 2>$W/err || echo "full cpu FAILED $(tail -2 $W/err)"
for dt in f32 bf16; do
  timeout 60 $B translate $W/a3.txt --model $TC --beams 1 --min-new-tokens 32 --max-new-tokens 32 --format jsonl --ids --quiet --device $GPU --dtype $dt > $W/full-$dt.jsonl 2>$W/err \
    && echo "tc-big full-size greedy $dt: $(python3 $S/cmp_ids.py $W/full-cpu.jsonl $W/full-$dt.jsonl)" || echo "full $dt FAILED $(tail -2 $W/err)"
done
el "main job: tarjama run (NT=$NT NS=$NS, batch 8, --strategy truncate)"
timeout 60 $B translate $A --model $TC --device $GPU --beams 1 --max-new-tokens 2 --format jsonl --quiet > $W/segs.jsonl 2>/dev/null
for dt in f32 f32 f16 bf16; do
  s=$(date +%s.%N)
  timeout 120 $B run $A --translator $TC --summarizer $DB --device $GPU --dtype $dt --batch-size 8 --min-new-tokens $NT --max-new-tokens $NT \
    --summary-min-new-tokens $NS --summary-max-new-tokens $NS --strategy truncate --format json --stats --quiet -o $W/run-$dt.json --force 2>$W/stats-$dt.txt \
    && echo "tarjama $GPU $dt wall $(python3 -c "import time;print(round(time.time()-$s,2))")s stats: $(grep "^{" $W/stats-$dt.txt | tail -1)" || echo "run $dt FAILED $(tail -3 $W/stats-$dt.txt)"
done
el "main job: transformers"
for dt in f32 f16 bf16; do timeout 150 python3 $S/hf_main_job.py $W/segs.jsonl $TC $DB $GPU $dt $NT $NS 2>$W/hf-err || echo "hf $dt FAILED $(tail -3 $W/hf-err)"; done
cp $W/run-f32.json $O/ 2>/dev/null; el done
