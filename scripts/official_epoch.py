"""One MNIST epoch of the paper's own code, for `npm run bench` (issue 10's peer for whole trainings).

Drives a local checkout of github.com/seijin-kobayashi/least-control (not part of this project; its
modules are imported from --repo, nothing is copied) on this project's digits: the files
scripts/officialData.ts writes (8,004 training and 1,996 test digits, standardised as the presets
do). The settings are the README's MNIST RNN commands (RBP and LCP-DI); the loop is
run_classification.py's train() and eval() — batches of 64 in a shuffled order, Adam with the
cosine schedule over its 30 epochs, gradient clipping at 10 — on the CPU with --threads torch
threads. Prints one JSON line: trainer, threads, seconds (the training epoch), evalSeconds,
testAccuracy, stepsPerSolve (the solver's mean iterations per solve, every solve of the epoch).

Usage: python3 scripts/official_epoch.py --repo DIR --data DIR --trainer rbp|lcp-di [--threads 1]
"""
import argparse
import json
import sys
import time

import numpy as np
import torch

# run_classification.py's argparse defaults, then the README's MNIST RNN command of each trainer.
DEFAULTS = dict(
    seed=-1, data="mnist", num_epochs=30, eval_epochs=5, batch_size=64, out_dir="./out",
    save_model=False, solver="vanilla", solver_max_iter=50, solver_error_threshold=1e-4,
    solver_threshold_metric="l2", trainer="lcp-di", k_p=0.0, k_i=1.0, alpha=0.0, dt=1.0,
    tau_v=1.0, tau_u=1.0, tau_e=1.0, model="vanilla", rnn_hidden_units=256, timescale_factor=5.0,
    tau_eps=1.0, tau_Q=100.0, sigma=0.1, wd_Q=0.001, kp_wd=0.001, ebd_optim="adam", ebd_lr=0.01,
    ff_init=False, meta_lr=0.001, meta_wd=0.0, meta_optimizer="adam", meta_scheduler="none",
    gamma=0.1, metagrad_clip=-1.0,
)
COMMANDS = {
    "rbp": dict(meta_lr=0.001, meta_optimizer="adam", meta_scheduler="cos", metagrad_clip=10.0,
                model="rnn", num_epochs=30, rnn_hidden_units=256, solver_error_threshold=1e-4,
                solver_max_iter=200, trainer="rbp"),
    "lcp-di": dict(meta_lr=0.001, meta_optimizer="adam", meta_scheduler="cos", metagrad_clip=10.0,
                   model="rnn", num_epochs=30, rnn_hidden_units=256, alpha=0.1, dt=1.0, k_i=1.0,
                   k_p=0.0, solver_error_threshold=1e-6, solver_max_iter=800, trainer="lcp-di"),
}


def load(data_dir, name):
    x = np.fromfile(f"{data_dir}/{name}.x.f32", dtype=np.float32).reshape(-1, 1, 28, 28)
    y = np.fromfile(f"{data_dir}/{name}.y.u8", dtype=np.uint8).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repo", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--trainer", choices=sorted(COMMANDS), required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    sys.path.insert(0, a.repo)
    import fixpoint_solver  # noqa: E402  (the checkout's own modules)
    import fixpoint_trainer
    import implicit_model

    args = argparse.Namespace(**{**DEFAULTS, **COMMANDS[a.trainer]})
    x_train, y_train = load(a.data, "train")
    x_test, y_test = load(a.data, "test")
    batches = (len(y_train) + args.batch_size - 1) // args.batch_size

    loss_fn = torch.nn.CrossEntropyLoss()
    model = implicit_model.get_impliciti_model(args, [1, 28, 28], 10)
    solver = fixpoint_solver.get_fp_solver(args)
    trainer = fixpoint_trainer.get_fp_trainer(loss_fn, solver, args)
    aux = trainer.get_auxiliary_module(model, torch.device("cpu"))
    params = list(model.parameters()) + list(aux.parameters())
    optimizer = torch.optim.Adam(params, args.meta_lr, weight_decay=args.meta_wd)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, args.num_epochs * batches, eta_min=args.meta_lr * args.gamma)

    order = torch.randperm(len(y_train))
    start = time.perf_counter()
    for b in range(batches):
        idx = order[b * args.batch_size:(b + 1) * args.batch_size]
        x, y = x_train[idx], y_train[idx]
        yp = trainer.forward_train(model, x, y, auxiliary_module=aux)
        optimizer.zero_grad()
        loss = loss_fn(yp, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=args.metagrad_clip)
        torch.nn.utils.clip_grad_norm_(aux.parameters(), max_norm=args.metagrad_clip)
        optimizer.step()
        scheduler.step()
    seconds = time.perf_counter() - start

    start = time.perf_counter()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y_test), args.batch_size):
            yp = trainer.forward(model, x_test[i:i + args.batch_size])
            correct += (yp.argmax(-1) == y_test[i:i + args.batch_size]).sum().item()
    eval_seconds = time.perf_counter() - start
    steps = solver.inner_loop_length / max(1, solver.inner_loop_num)
    print(json.dumps(dict(trainer=a.trainer, threads=a.threads, seconds=round(seconds, 3),
                          evalSeconds=round(eval_seconds, 3),
                          testAccuracy=round(correct / len(y_test), 6),
                          stepsPerSolve=round(steps, 2))))


if __name__ == "__main__":
    main()
