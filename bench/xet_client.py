"""The client side of bench/xet.sh: huggingface_hub as users run it (Xet
on, or off with HF_HUB_DISABLE_XET=1 in the environment).

  versions DIR SIZE_MIB N      write N versions of a safetensors file
  upload-versions DIR REPO     commit them one after the other
  upload FILE REPO             commit FILE as file.bin; print the seconds
  download REPO DIR            download file.bin; print the seconds
"""

import json
import os
import random
import sys
import time
from pathlib import Path

TENSOR = 1 << 20  # bytes per tensor: 256 tensors in 256 MiB


def weights(n: int, rng: random.Random) -> bytes:
    """n bytes that look like float32 weights: random mantissas, exponents
    of small values (what BG4 compression recognises)."""
    b = bytearray(rng.randbytes(n))
    exp = bytes(0x3C + (i & 3) if i < 128 else 0xBC + (i & 3) for i in range(256))
    b[3::4] = b[3::4].translate(exp)
    return bytes(b)


def versions(out: str, size_mib: int, n: int) -> None:
    """Version 0 is random; each next one rewrites 1 % of the tensors."""
    rng = random.Random(42)
    count = size_mib * (1 << 20) // TENSOR
    header = {f"layers.{i}.weight": {"dtype": "F32", "shape": [TENSOR // 4], "data_offsets": [i * TENSOR, (i + 1) * TENSOR]} for i in range(count)}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-len(hb) % 8)
    tensors = [weights(TENSOR, rng) for _ in range(count)]
    changed = max(1, count // 100)
    os.makedirs(out, exist_ok=True)
    unique = 0
    for v in range(n):
        if v > 0:
            for i in rng.sample(range(count), changed):
                tensors[i] = weights(TENSOR, rng)
            unique += changed * TENSOR
        else:
            unique += 8 + len(hb) + count * TENSOR
        with open(Path(out) / f"v{v}.safetensors", "wb") as f:
            f.write(len(hb).to_bytes(8, "little"))
            f.write(hb)
            for t in tensors:
                f.write(t)
    print(json.dumps({"unique_bytes": unique, "tensors": count, "changed_per_version": changed}))


def upload(path: str, repo: str, name: str = "file.bin") -> float:
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(repo, exist_ok=True)
    t = time.perf_counter()
    api.upload_file(path_or_fileobj=path, path_in_repo=name, repo_id=repo)
    return time.perf_counter() - t


def main() -> None:
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "versions":
        versions(args[0], int(args[1]), int(args[2]))
    elif cmd == "upload-versions":
        files = sorted(Path(args[0]).glob("v*.safetensors"), key=lambda p: int(p.stem[1:]))
        for p in files:
            print(f"{p.name}: {upload(str(p), args[1], 'model.safetensors'):.2f}s", file=sys.stderr)
    elif cmd == "upload":
        print(f"{upload(args[0], args[1]):.3f}")
    elif cmd == "download":
        from huggingface_hub import hf_hub_download

        t = time.perf_counter()
        hf_hub_download(args[0], "file.bin", cache_dir=args[1])
        print(f"{time.perf_counter() - t:.3f}")
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
