#!/usr/bin/env bash
# Builds `tarjama --features cuda` on a machine with no GPU and no system CUDA toolkit, for the
# GPU check (scripts/gpu/check.sh), and packs it for the device machine.
#
#   bash scripts/gpu/build_cuda.sh [TOOLKIT_DIR]     # default /tmp/cudatk; about 50 min on 2 cores
#
# - CUDA 13.0 from NVIDIA's PyPI wheels (nvcc, nvvm, crt, cudart, cublas, curand, nvrtc, cccl),
#   pinned to 13.0 so the PTX that candle-kernels embeds is one the driver 580 (CUDA 13.0) can JIT.
# - cudarc 0.19 (candle 0.11's) links libcuda dynamically: the driver library is not in the wheels,
#   so a stub libcuda.so (soname libcuda.so.1) is made from the symbol names cudarc declares; the
#   real driver's libcuda.so.1 is the one loaded at run time.
# - CUDA_COMPUTE_CAP=90 (Hopper): candle-kernels builds its static MoE/GGUF kernels for sm_90a.
# Output: .devcheck/tarjama.gz (stripped, gzipped: about 18 MB, under the device's 64 MiB carry).
set -euo pipefail
cd "$(dirname "$0")/../.."
TK=${1:-/tmp/cudatk}
PY=${PYTHON:-python3}
if [ ! -x "$TK/nvidia/cu13/bin/nvcc" ]; then
  "$PY" -m pip install -q --target "$TK" nvidia-cuda-nvcc==13.0.88 nvidia-nvvm==13.0.88 \
    nvidia-cuda-crt==13.0.88 nvidia-cuda-runtime==13.0.96 nvidia-cublas==13.0.2.14 \
    nvidia-curand==10.4.0.35 nvidia-cuda-nvrtc==13.0.88 nvidia-cuda-cccl==13.0.85
fi
T=$TK/nvidia/cu13
(cd "$T/lib" && for l in cublas cublasLt curand nvrtc cudart; do ln -sf "$(ls lib$l.so.* | head -1)" lib$l.so; done)
mkdir -p "$T/stubs"
if [ ! -e "$T/stubs/libcuda.so" ]; then
  cargo fetch --locked
  SYS=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.*/src/driver/sys | head -1)
  grep -hoE "^\s+fn cu[A-Za-z0-9_]+\(" "$SYS/mod.rs" | sed -E 's/^\s+fn (cu[A-Za-z0-9_]+)\(/\1/' | sort -u \
    | awk '{print "void "$1"(void){}"}' > "$T/stubs/cudastub.c"
  gcc -shared -fPIC -o "$T/stubs/libcuda.so" -Wl,-soname,libcuda.so.1 "$T/stubs/cudastub.c"
fi
export CUDA_HOME=$T PATH=$T/bin:$PATH CUDARC_CUDA_VERSION=13000 CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export RUSTFLAGS="-L native=$T/lib -L native=$T/stubs"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/cuda}
cargo build --release --locked --features cuda --bin tarjama
mkdir -p .devcheck
strip -o .devcheck/tarjama "$CARGO_TARGET_DIR/release/tarjama"
gzip -f .devcheck/tarjama
cp ../shared/data/seed/article.ar.txt .devcheck/ 2>/dev/null || true
ls -l .devcheck/tarjama.gz
