#!/usr/bin/env bash
# Set up the official HPS v2 package (hpsv2 1.2.0) in its own venv: bench/.venv-official.
# Idempotent: re-running skips what is already there.
#
#   bash bench/setup_official.sh
#
# The hpsv2 wheel lacks open_clip's BPE vocabulary (bpe_simple_vocab_16e6.txt.gz); it is
# copied from our own open_clip_torch install. It also imports pyarrow, webdataset, timm and
# clint without declaring them all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-official"
py="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip --disable-pip-version-check -q)

if ! "$venv/bin/python" -c "import torch, torchvision" 2>/dev/null; then
    "${pip[@]}" install torch==2.14.1 torchvision==0.29.1
fi
if ! "$venv/bin/python" -c "import hpsv2" 2>/dev/null; then
    "${pip[@]}" install hpsv2==1.2.0 torch==2.14.1 torchvision==0.29.1
fi
"${pip[@]}" install torch==2.14.1 torchvision==0.29.1 pyarrow webdataset timm clint

site="$("$venv/bin/python" -c 'import hpsv2, os; print(os.path.dirname(hpsv2.__file__))')"
vocab="bpe_simple_vocab_16e6.txt.gz"
if [ ! -f "$site/src/open_clip/$vocab" ]; then
    src="$("$root/.venv/bin/python" -c 'import open_clip, os; print(os.path.dirname(open_clip.__file__))')/$vocab"
    cp "$src" "$site/src/open_clip/$vocab"
fi
"$venv/bin/python" -c "import hpsv2, torch; from hpsv2.src.open_clip import get_tokenizer; \
get_tokenizer('ViT-H-14')(['ok']); print('hpsv2 ready: torch', torch.__version__)"
