#!/bin/bash
# Demo of the model-side faults of issue 11 (the table in the store helper's report): each case
# prints its exit code and last stderr lines. Needs root (mounts two small tmpfs: a full disk and
# a read-only one), the bundled model in ~/.cache/gpt-scenes, and a tiny GPT-2-shaped model in
# $S/tiny (see tests/conftest.py). Usage: tests/fault_demo.sh TREE   (LONG=1 adds the long prompts)
S=${S:-/tmp/store-scratch}; mkdir -p $S/full $S/ro
mountpoint -q $S/full || mount -t tmpfs -o size=2M tmpfs $S/full
mountpoint -q $S/ro || mount -t tmpfs -o size=1M,ro tmpfs $S/ro
TREE=$1; cd $TREE; PY="$TREE/.venv/bin/python"; export PYTHONPATH=$TREE HF_HUB_OFFLINE=1; unset GPT_SCENES_CACHE GPT_SCENES_DEVICE
: ; TINY=$S/tiny; BUNDLED=/root/.cache/gpt-scenes/models/SmolLM2-135M-Instruct
newhome() { H=$(mktemp -d $S/home.XXXX); mkdir -p $H/models; ln -s $BUNDLED $H/models/; export GPT_SCENES_HOME=$H; }
show() { local rc=$1; shift; echo "   exit $rc | $(grep -v '^\[gpt-scenes\] model:' $S/err | tail -n 3 | tr '\n' '~' | cut -c1-400) | $*"; }
ext() { $PY -m tensors extract "$@" >$S/out 2>$S/err; echo $?; }
WE='from tensors import trace; t=trace("the cat sat on the mat","'$TINY'",quiet=True); print("W_E[0,:3]", t.W_E([0])[0,:3].tolist(), "top", t.top_next(1)[0][0])'
flipWE() { $PY - "$1" <<'P'
import json,sys,glob
p=[f for f in glob.glob(sys.argv[1]+"/weights/*.safetensors")][0]; b=bytearray(open(p,"rb").read())
n=int.from_bytes(b[:8],"little"); h=json.loads(b[8:8+n]); o=8+n+h["W_E"]["data_offsets"][0]+3; b[o]^=0x40; open(p,"wb").write(bytes(b))
P
}
echo "== 1 trace header bit flip (' mat' -> ' mAt')"; newhome
ext --prompt "the cat sat on the mat" --model $TINY --json >/dev/null; f=$(ls $H/traces/*.safetensors)
$PY -c "import sys;p=sys.argv[1];b=bytearray(open(p,'rb').read());i=b.index(b'\\\\\" mat\\\\\"');b[i+5]^=0x20;open(p,'wb').write(bytes(b))" $f
rc=$(ext --prompt "the cat sat on the mat" --model $TINY --json); show $rc "tokens: $($PY -c 'import json,sys;print(json.load(open(sys.argv[1]))["tokens"][-2:])' $S/out)"
echo "== 2 weights cache bit flip in W_E[0,0] (model's own row: see first line)"; newhome
$PY -c "$WE" 2>$S/err; flipWE $H; $PY -c "$WE" >$S/out 2>$S/err; show $? "$(cat $S/out)"
echo "== 3 weights cache truncated to half"; newhome
$PY -c "$WE" >/dev/null 2>&1; w=$(ls $H/weights/*.safetensors); truncate -s $(( $(stat -c %s $w) / 2 )) $w; $PY -c "$WE" >$S/out 2>$S/err; show $? "$(cat $S/out)"
echo "== 4 a file where the weights folder should be"; newhome; echo x > $H/weights
$PY -c "$WE" >$S/out 2>$S/err; show $? "$(cat $S/out)"
echo "== 5 read-only home (read-only tmpfs)"; export GPT_SCENES_HOME=$S/ro
$PY -c "$WE" >$S/out 2>$S/err; show $? "$(cat $S/out)"
echo "== 6 full disk (2 MB tmpfs as home)"; rm -rf $S/full/*; export GPT_SCENES_HOME=$S/full
rc=$(ext --prompt "the cat sat on the mat and then it looked at the verdant forest for a while" --model $TINY); show $rc "left on the disk: $(find $S/full -type f | wc -l) files, $(du -sk $S/full | cut -f1) KB"
echo "== 7 moved GPT_SCENES_HOME"; newhome; ext --prompt "The capital of France is" --model smollm2 >/dev/null
H2=$H.moved; mv $H $H2; export GPT_SCENES_HOME=$H2; rc=$(ext --prompt "The capital of France is" --model smollm2 --json); show $rc "$(cut -c1-160 $S/out)"
newhome
for d in "--device tpu" "--device mps" "--device cuda"; do echo "== 8 $d"; rc=$(ext --prompt hi --model $TINY $d); show $rc; done
echo "== 8 GPT_SCENES_DEVICE=bogus"; rc=$(GPT_SCENES_DEVICE=bogus ext --prompt hi --model $TINY); show $rc
for k in empty garbage; do echo "== 9 model folder, $k model.safetensors"; rm -rf $S/broken; cp -r $TINY $S/broken
  if [ $k = empty ]; then : > $S/broken/model.safetensors; else head -c 4096 /dev/urandom > $S/broken/model.safetensors; fi
  rc=$(ext --prompt hi --model $S/broken); show $rc; done
if [ -n "$LONG" ]; then
echo "== 10 prompt of 8,000 tokens (bundled model, context 8192)"; P=$($PY -c 'print("the "*8000)')
rc=$(ext --prompt "$P" --model smollm2); show $rc
echo "== 10 prompt of 2,223 tokens with GPT_SCENES_MEMORY_GB=8"; P=$($PY -c 'print("the "*2222)')
rc=$(GPT_SCENES_MEMORY_GB=8 ext --prompt "$P" --model smollm2); show $rc
echo "== 10 GPT_SCENES_MEMORY_GB=lots"; rc=$(GPT_SCENES_MEMORY_GB=lots ext --prompt "$P" --model smollm2); show $rc
fi
rm -rf $S/home.* $S/broken
