#!/usr/bin/python3
"""Side by side on one machine: PyTorch DDP (gloo) and ecco train the same MLP on Fashion-MNIST.

Both runs use P processes with one thread each, the MLP 784-512-512-10 (ReLU, He-uniform
weights, zero biases), the same contiguous shards (client i of P holds rows
[i floor(N/P), (i+1) floor(N/P)), the last one the remainder), batch B per process, SGD with
heavy-ball momentum (v = mu v + g, x -= lr v, the mean gradient of the P processes), and the
same number of steps per epoch, ceil(N / (P B)). The script prints, for each framework:
  * seconds per epoch, training only and with the evaluation of the 10,000 test images;
  * test accuracy after each epoch;
  * bytes per step and process: the fp32 gradient each process puts into the allreduce;
and, on one core, the time of one forward + backward pass at batch B (PyTorch) next to
`ecco-bench model` (ecco's gradient of the same network).

It is a benchmark, never a timed test: run it on an otherwise idle machine and compare the
ratios printed in the same run. Needs Debian's python3-torch (run it with /usr/bin/python3);
without it the script says so and exits with status 77 (ctest's SKIPPED).

  /usr/bin/python3 scripts/compare/torch_ddp_fmnist.py --procs 4 --epochs 1
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import os
import shlex
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SKIP = 77  # ctest SKIP_RETURN_CODE

try:
    import numpy as np
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"torch_ddp_fmnist: SKIPPED: {exc.name} is not installed (apt-get install python3-torch; "
          f"run with /usr/bin/python3)", file=sys.stderr)
    sys.exit(SKIP)


# ---- data ------------------------------------------------------------------------------

def read_idx(path: Path) -> np.ndarray:
    """An IDX file (plain or gzip) as a numpy array of its dimensions."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SystemExit(f"torch_ddp_fmnist: {path}: not an unsigned-byte IDX file")
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * k: 8 + 4 * k], "big") for k in range(dims)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != math.prod(shape):
        raise SystemExit(f"torch_ddp_fmnist: {path}: {data.size} bytes of data, the header says {math.prod(shape)}")
    return data.reshape(shape)


def load_split(data_dir: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(data_dir / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(data_dir / f"{prefix}-labels-idx1-ubyte.gz")
    return images.reshape(images.shape[0], -1).astype(np.float32) / np.float32(255.0), labels.astype(np.int64)


def shard_bounds(rows: int, clients: int, client: int) -> tuple[int, int]:
    """ecco's contiguous split: floor(N/n) rows each, the remainder to the last client."""
    size = rows // clients
    begin = client * size
    return begin, (rows if client == clients - 1 else begin + size)


# ---- PyTorch DDP -----------------------------------------------------------------------

def make_mlp(widths: list[int], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    for k in range(1, len(widths)):
        linear = torch.nn.Linear(widths[k - 1], widths[k])
        bound = math.sqrt(6.0 / widths[k - 1])  # He uniform, as ecco's mlp
        torch.nn.init.uniform_(linear.weight, -bound, bound)
        torch.nn.init.zeros_(linear.bias)
        layers.append(linear)
        if k < len(widths) - 1:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def ddp_worker(rank: int, args: argparse.Namespace, port: int, queue) -> None:
    torch.set_num_threads(args.threads)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=args.procs)
    train_x, train_y = load_split(args.data_dir, "train")
    test_x, test_y = load_split(args.data_dir, "t10k")
    begin, end = shard_bounds(len(train_y), args.procs, rank)
    shard_x = torch.from_numpy(train_x[begin:end].copy())
    shard_y = torch.from_numpy(train_y[begin:end].copy())
    t_begin, t_end = shard_bounds(len(test_y), args.procs, rank)
    test_xs = torch.from_numpy(test_x[t_begin:t_end].copy())
    test_ys = torch.from_numpy(test_y[t_begin:t_end].copy())

    model = make_mlp([784, 512, 512, 10], args.seed)
    ddp = torch.nn.parallel.DistributedDataParallel(model)
    optimiser = torch.optim.SGD(ddp.parameters(), lr=args.lr, momentum=args.momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(args.seed + rank)
    steps = steps_per_epoch(args)
    order = torch.randperm(len(shard_y), generator=generator)
    at = 0
    epochs = []
    for epoch in range(args.epochs):
        dist.barrier()
        start = time.perf_counter()
        loss_sum = 0.0
        for _ in range(steps):
            if at + args.batch > len(order):
                order = torch.randperm(len(shard_y), generator=generator)
                at = 0
            rows = order[at:at + args.batch]
            at += args.batch
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(ddp(shard_x[rows]), shard_y[rows])
            loss.backward()
            optimiser.step()
            loss_sum += float(loss.detach())
        dist.barrier()
        trained = time.perf_counter() - start
        with torch.no_grad():
            logits = model(test_xs)
            counts = torch.tensor([float((logits.argmax(1) == test_ys).sum()),
                                   float(loss_fn(logits, test_ys)) * len(test_ys), float(len(test_ys))],
                                  dtype=torch.float64)
        dist.all_reduce(counts)
        dist.barrier()
        evaluated = time.perf_counter() - start
        epochs.append({"epoch": epoch + 1, "train_seconds": trained, "seconds": evaluated,
                       "test_accuracy": float(counts[0] / counts[2]), "test_loss": float(counts[1] / counts[2]),
                       "train_loss": loss_sum / steps})
    if rank == 0:
        params = sum(p.numel() for p in model.parameters())
        queue.put({"epochs": epochs, "steps_per_epoch": steps, "params": params,
                   "bytes_per_step": 4 * params})
    dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def blas_library() -> str:
    """The BLAS shared library this process has loaded (after a product), from /proc/self/maps."""
    torch.ones(64, 64) @ torch.ones(64, 64)
    try:
        with open("/proc/self/maps") as fh:
            names = {line.split()[-1] for line in fh if "blas" in line.lower() and "/" in line}
    except OSError:
        return "unknown"
    return ", ".join(sorted(names)) or "none (torch's own kernels)"


def run_torch(args: argparse.Namespace) -> dict:
    # OpenBLAS starts its own threads unless told: one per process, as torch's own.
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    mp.start_processes(ddp_worker, args=(args, free_port(), queue), nprocs=args.procs, join=True,
                       start_method="spawn")
    return queue.get()


def gradient_worker(batch: int, repeat: int, queue) -> None:
    queue.put(torch_gradient_ms(batch, repeat))


def torch_gradient_ms_fresh(batch: int, repeat: int) -> float:
    """torch_gradient_ms in a fresh process, whose OpenBLAS starts with one thread (the
    library reads OPENBLAS_NUM_THREADS when it is loaded, at `import torch`)."""
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    context = mp.get_context("spawn")
    queue = context.SimpleQueue()
    process = context.Process(target=gradient_worker, args=(batch, repeat, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def torch_gradient_ms(batch: int, repeat: int) -> float:
    """Median ms of one forward + backward of the MLP at `batch` rows, one thread."""
    torch.set_num_threads(1)
    model = make_mlp([784, 512, 512, 10], 1)
    x = torch.rand(batch, 784)
    y = torch.randint(0, 10, (batch,))
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for k in range(repeat + 5):
        start = time.perf_counter()
        model.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        if k >= 5:
            times.append(time.perf_counter() - start)
    return 1e3 * sorted(times)[len(times) // 2]


# ---- ecco ------------------------------------------------------------------------------

def steps_per_epoch(args: argparse.Namespace) -> int:
    """ceil(N / (P B)) as ecco-train --epochs counts them, or --steps (a quick check)."""
    return args.steps or math.ceil(60000 / (args.procs * args.batch))


def mpirun(args: argparse.Namespace, command: list[str]) -> list[str]:
    """command under mpirun -np P with the project's MPI environment (scripts/mpi-env.sh)."""
    inner = " ".join(shlex.quote(c) for c in command)
    return ["bash", "-c", f"source {shlex.quote(str(REPO / 'scripts' / 'mpi-env.sh'))} && "
                          f"exec mpirun -np {args.procs} {inner}"]


def run_ecco(args: argparse.Namespace, work: Path) -> dict:
    steps = steps_per_epoch(args)
    out, summary = work / "ecco.csv", work / "ecco.json"
    command = [str(args.ecco), "--data", f"fashion_mnist:dir={args.data_dir}", "--problem", "mlp:hidden=512x512",
               "--clients", str(args.procs), "--algorithm", f"sgd:momentum={args.momentum}",
               "--aggregation", "allreduce", "--batch", str(args.batch), "--lr", str(args.lr),
               "--lr-schedule", "constant",
               "--rounds", str(steps * args.epochs), "--eval-every", str(steps), "--log-every", str(steps),
               "--seed", str(args.seed), "--out", str(out), "--summary", str(summary), "--quiet"]
    command += shlex.split(args.ecco_flags)
    result = subprocess.run(mpirun(args, command), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"torch_ddp_fmnist: ecco-train failed ({result.returncode}):\n{result.stderr}")
    with open(summary) as fh:
        info = json.load(fh)
    with open(out) as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["round"]) > 0]
    phases = info["phase_seconds_rank0"]
    metrics_per_epoch = phases["metrics"] / args.epochs
    epochs, previous = [], 0.0
    for k, row in enumerate(rows):
        seconds = float(row["seconds"]) - previous
        previous = float(row["seconds"])
        epochs.append({"epoch": k + 1, "seconds": seconds, "train_seconds": seconds - metrics_per_epoch,
                       "test_accuracy": float(row["test_accuracy"]), "train_loss": float(row["loss"])})
    rounds = info["totals"]["rounds_run"] + 1  # the initial messages count as a round
    return {"epochs": epochs, "steps_per_epoch": steps, "params": info["config"]["dim"],
            "bytes_per_step": info["totals"]["bits_allreduce_payload"] / 8 / rounds,
            "precision": info["config"].get("precision", "fp64"), "phases": phases, "command": command}


def ecco_gradient_ms(args: argparse.Namespace) -> dict[str, float]:
    """ms per forward + backward at batch B from `ecco-bench model` (one core)."""
    bench = args.ecco.parent / "ecco-bench"
    result = subprocess.run([str(bench), "model", "--models", "mlp", "--batches", str(args.batch), "--repeat",
                             str(args.gradient_repeat), "--json"], capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"torch_ddp_fmnist: ecco-bench model failed ({result.returncode}):\n{result.stderr}")
    rows = json.loads(result.stdout)
    return {r["precision"]: r["ms_per_step"] for r in rows if r["model"] == "mlp" and r["batch"] == args.batch}


# ---- report ----------------------------------------------------------------------------

def report(name: str, run: dict) -> None:
    print(f"{name}: {run['params']} parameters, {run['steps_per_epoch']} steps per epoch, "
          f"{run['bytes_per_step'] / 1e6:.3f} MB per step and process")
    print(f"  {'epoch':>5} {'s train':>9} {'s + eval':>9} {'test acc':>9} {'train loss':>11}")
    for e in run["epochs"]:
        print(f"  {e['epoch']:>5} {e['train_seconds']:>9.3f} {e['seconds']:>9.3f} {e['test_accuracy']:>9.4f} "
              f"{e['train_loss']:>11.4f}")


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--procs", type=int, default=4, help="processes of both runs (default: 4)")
    p.add_argument("--epochs", type=int, default=1, help="epochs (default: 1)")
    p.add_argument("--batch", type=int, default=64, help="minibatch per process (default: 64)")
    p.add_argument("--lr", type=float, default=0.1, help="step size (default: 0.1)")
    p.add_argument("--momentum", type=float, default=0.9, help="heavy-ball momentum (default: 0.9)")
    p.add_argument("--seed", type=int, default=1, help="seed of both runs (default: 1)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (default: 1, as ecco)")
    p.add_argument("--data-dir", type=Path, default=Path("/usr/share/datasets/fashion-mnist"),
                   help="the Fashion-MNIST gzip IDX files (default: Debian's dataset-fashion-mnist)")
    p.add_argument("--ecco", type=Path, default=REPO / "build" / "release" / "apps" / "ecco-train",
                   help="the ecco-train binary (default: build/release/apps/ecco-train)")
    p.add_argument("--ecco-flags", default="", help="extra ecco-train flags, e.g. '--precision fp64'")
    p.add_argument("--gradient-repeat", type=int, default=200,
                   help="forward + backward passes timed on one core (default: 200)")
    p.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    p.add_argument("--steps", type=int, default=0,
                   help="steps per epoch instead of ceil(N / (P B)), for a quick check of the script (default: 0)")
    args = p.parse_args()
    if args.procs < 1 or args.epochs < 1 or args.batch < 1 or args.steps < 0 or args.gradient_repeat < 1:
        p.error("--procs, --epochs, --batch and --gradient-repeat must be >= 1, --steps >= 0")
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        if not (args.data_dir / name).is_file():
            print(f"torch_ddp_fmnist: SKIPPED: {args.data_dir / name} is missing "
                  f"(apt-get install dataset-fashion-mnist, or --data-dir)", file=sys.stderr)
            return SKIP
    if not args.ecco.is_file():
        raise SystemExit(f"torch_ddp_fmnist: {args.ecco} not found (build it: cmake --preset release && "
                         f"cmake --build --preset release, or pass --ecco)")

    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    blas = blas_library()
    print(f"torch {torch.__version__} (BLAS: {blas}), {args.procs} processes x {args.threads} thread(s), "
          f"{os.cpu_count()} cores, batch {args.batch} per process, lr {args.lr}, momentum {args.momentum}, "
          f"{args.epochs} epoch(s)")
    if "openblas" not in blas.lower() and "mkl" not in blas.lower():
        print("warning: torch is using the reference BLAS, which handicaps it; install an optimised one "
              "(apt-get install libopenblas0-pthread) for a fair comparison", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ecco-compare-") as tmp:
        ecco = run_ecco(args, Path(tmp))
    torch_run = run_torch(args)
    report("PyTorch DDP (gloo)", torch_run)
    report(f"ecco (--aggregation allreduce, {ecco['precision']} compute)", ecco)

    ecco_train = mean([e["train_seconds"] for e in ecco["epochs"]])
    torch_train = mean([e["train_seconds"] for e in torch_run["epochs"]])
    ecco_all = mean([e["seconds"] for e in ecco["epochs"]])
    torch_all = mean([e["seconds"] for e in torch_run["epochs"]])
    print(f"seconds per epoch, ecco / PyTorch: training {ecco_train:.3f} / {torch_train:.3f} = "
          f"{ecco_train / torch_train:.2f}; with evaluation {ecco_all:.3f} / {torch_all:.3f} = "
          f"{ecco_all / torch_all:.2f}")

    torch_ms = torch_gradient_ms_fresh(args.batch, args.gradient_repeat)
    ecco_ms = ecco_gradient_ms(args)
    line = f"one core, forward + backward at batch {args.batch}: PyTorch {torch_ms:.3f} ms"
    for precision, ms in sorted(ecco_ms.items()):
        line += f"; ecco {precision} {ms:.3f} ms (PyTorch / ecco = {torch_ms / ms:.2f})"
    print(line)
    if args.json:
        args.json.write_text(json.dumps({"torch": torch_run, "ecco": ecco, "torch_gradient_ms": torch_ms,
                                         "ecco_gradient_ms": ecco_ms}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
