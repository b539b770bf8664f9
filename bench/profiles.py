"""What each release-profile knob buys (issue #8, "tuning"): builds the
bootstrap (keyturn-lambda, x86_64, cargo-lambda) once per variant of
[profile.release], each in its own target dir, and prints its build CPU
seconds, bootstrap size, and init time and peak RSS after init of one
function (--function, scanner by default) next to the profile keyturn
ships. Run by `make bench-profiles` (not part of make bench: each variant
is a whole dependency build, about 10 minutes on 2 cores).

Init and RSS are measured exactly as bench/lambda.py measures them (process
spawn to the first GET /runtime/invocation/next against its minimal Runtime
API); build CPU is user + system seconds of the cargo-lambda process tree,
which depends little on how busy the machine is, unlike its wall time.
"""
import argparse
import importlib.util
import json
import os
import resource
import subprocess
import time

# bench/lambda.py's measurement, as is ("lambda" is a keyword: no plain import).
_spec = importlib.util.spec_from_file_location("bench_lambda", os.path.join(os.path.dirname(__file__), "lambda.py"))
_lambda = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_lambda)
measure = _lambda.measure

# name -> CARGO_PROFILE_RELEASE_* overrides of what Cargo.toml ships
# (opt-level "z", lto fat, codegen-units 1, strip, panic abort).
VARIANTS = {
    "shipped": {},
    "lto thin": {"LTO": "thin"},
    "lto off": {"LTO": "off"},
    "opt-level 3": {"OPT_LEVEL": "3"},
    "opt-level s": {"OPT_LEVEL": "s"},
    "codegen-units 16": {"CODEGEN_UNITS": "16"},
    "panic unwind": {"PANIC": "unwind"},
}


STATE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:keyturn-rotation"


def cpu_of_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated variant names (default: all)")
    ap.add_argument("--function", default="scanner")
    ap.add_argument("--out", default="bench/profiles.json")
    ap.add_argument("--builds-only", action="store_true",
                    help="build and record build CPU; measure later (init times want a quiet machine)")
    ap.add_argument("--measure-only", action="store_true",
                    help="measure the bootstraps built earlier, keeping their recorded build CPU")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(VARIANTS)
    builds_file = "target/profiles/builds.json"
    builds = json.load(open(builds_file)) if os.path.exists(builds_file) else {}
    rows = {}
    for name in names:
        slug = name.replace(" ", "-")
        target = os.path.abspath(f"target/profiles/{slug}")
        lambda_dir = os.path.join(target, "lambda")
        bootstrap = os.path.join(lambda_dir, "keyturn-lambda", "bootstrap")
        if not args.measure_only:
            env = {**os.environ, "CARGO_TARGET_DIR": target}
            env.update({f"CARGO_PROFILE_RELEASE_{k}": v for k, v in VARIANTS[name].items()})
            print(f"==> profiles: {name}: building keyturn-lambda (x86_64)", flush=True)
            cpu0, t0 = cpu_of_children(), time.perf_counter()
            subprocess.run(["cargo", "lambda", "build", "--release", "--quiet", "--lambda-dir", lambda_dir,
                            "-p", "keyturn-functions", "--bin", "keyturn-lambda"], env=env, check=True)
            builds[name] = {"cpu_s": round(cpu_of_children() - cpu0), "wall_s": round(time.perf_counter() - t0)}
            os.makedirs(os.path.dirname(builds_file), exist_ok=True)
            with open(builds_file, "w") as f:
                json.dump(builds, f)
            print(f"    {name}: build CPU {builds[name]['cpu_s']} s (wall {builds[name]['wall_s']} s)", flush=True)
        if args.builds_only:
            continue
        if name not in builds:
            raise SystemExit(f"{name}: not built yet (run without --measure-only)")
        with open(os.path.join(target, "measure.log"), "w") as log:
            m = measure(args.function, [bootstrap], {"PATH": os.environ["PATH"], "AWS_REGION": "us-east-1",
                                                      "AWS_LAMBDA_FUNCTION_NAME": "bench", "RUST_LOG": "warn",
                                                      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128", "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                                                      "KEYTURN_STATE_MACHINE_ARN": STATE_MACHINE,
                                                      "KEYTURN_FUNCTION": args.function}, [], lambda *_: None, log)
        rows[name] = {"overrides": VARIANTS[name], "build_cpu_s": builds[name]["cpu_s"],
                      "build_wall_s": builds[name]["wall_s"],
                      "size_mb": round(os.path.getsize(bootstrap) / 2**20, 2), "init_ms": m["init_ms"],
                      "peak_rss_mb": m["peak_rss_mb"]}
        r = rows[name]
        print(f"    {name}: {r['size_mb']} MB, init {r['init_ms']} ms, RSS {r['peak_rss_mb']} MB, "
              f"build CPU {r['build_cpu_s']} s (wall {r['build_wall_s']} s)", flush=True)
    if args.builds_only:
        return
    print()
    print(f"{'profile':<18} {'size MB':>8} {'init ms':>8} {'RSS MB':>7} {'build CPU s':>12}")
    for name, r in rows.items():
        print(f"{name:<18} {r['size_mb']:>8} {r['init_ms']:>8} {r['peak_rss_mb']:>7} {r['build_cpu_s']:>12}")
    with open(args.out, "w") as f:
        json.dump({"binary": "keyturn-lambda", "function": args.function, "target": "x86_64-unknown-linux-gnu",
                   "variants": rows}, f, indent=2)
        f.write("\n")
    print(f"==> profiles: written to {args.out}")


if __name__ == "__main__":
    main()
