#!/usr/bin/env bash
# Mutation testing: mutmut changes the modules listed in pyproject.toml's [tool.mutmut] one small edit at a time
# and runs the fast tests (tests/unit) against each mutant; then the score, the run time and the survivors.
#   bash scripts/mutation.sh [MUTANT_NAME_GLOB...]   e.g. 'airflow_provider_kling.contract*' (default: all)
# Verdicts are cached in mutants/ (delete it for a fresh run). Niced, one mutant at a time unless MUTMUT_CHILDREN
# says more (the machine has 2 cores). KLING_VENV picks the venv (default .venv-mutation). Survivors are reviewed in tests/mutation-survivors.md.
set -euo pipefail
cd "$(dirname "$0")/.."
export KLING_VENV=${KLING_VENV:-.venv-mutation}
source scripts/venv.sh "[test,openlineage,mutation]"
start=$SECONDS
nice -n 10 "$venv/bin/mutmut" run --max-children "${MUTMUT_CHILDREN:-1}" "$@"
echo "mutmut run: $((SECONDS - start)) s"
# The score per module and in all, from the verdicts mutmut keeps beside each mutated file.
"$venv/bin/python" - <<'EOF'
import collections, json, pathlib
from mutmut.stats import status_by_exit_code
total = collections.Counter()
for meta in sorted(pathlib.Path("mutants").rglob("*.py.meta")):
    codes = json.loads(meta.read_text())["exit_code_by_key"].values()
    counts = collections.Counter(status_by_exit_code[code] for code in codes)
    total += counts
    print(f"{str(meta)[8:-5]}: {sum(counts.values())} mutants, " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
checked = sum(total.values()) - total["not checked"]
reached = checked - total["no tests"]
print(f"score: {total['killed']} killed / {checked} checked = {100 * total['killed'] / max(checked, 1):.1f}%"
      f" ({total['timeout']} timeouts, {total['survived']} survived, {total['no tests']} reached by no test,"
      f" {total['not checked']} not checked); of the {reached} some test reaches:"
      f" {100 * total['killed'] / max(reached, 1):.1f}% killed")
EOF
echo "Survivors by module:"
"$venv/bin/mutmut" results | awk -F': ' '$2 == "survived" {print $1}' | sed 's/^ *//' | sort -V |
    awk -F'.x' '{module = $1; if (module != last) print module; last = module; print "    " $0}'
