#!/usr/bin/env bash
# A newcomer's first contact, timed (issue 18): clone the repository into a temporary folder as a new user
# would, run the README's two commands, `make figures` (environment built on first use, sample generated,
# every notebook) and then `make test`, and print what each took, the environment's size on disk and the
# slowest notebooks and tests. Nothing of this checkout is touched; the clone is removed at the end unless
# KEEP=1.
#
#   bench/newcomer.sh                 # clone this checkout's HEAD (committed work only)
#   bench/newcomer.sh --no-test       # make figures only
#   bench/newcomer.sh URL-or-path     # clone another copy
#
# The figures depend on the machine (cores, disk), the network (pip downloads the locks' wheels unless
# pip's cache has them) and on what else runs: the script prints the cores, the load average and pip's
# cache size so that a reader can judge. Figures go to docs/benchmarks.md with the command, machine, date.
set -euo pipefail

run_tests=1
src=""
for arg in "$@"; do
  case "$arg" in
    --no-test) run_tests=0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) src="$arg" ;;
  esac
done
[ -n "$src" ] || src="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"

work="$(mktemp -d "${TMPDIR:-/tmp}/twigma-newcomer.XXXXXX")"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT
clone="$work/twigma"
logs="$work/logs"
mkdir -p "$logs"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { s = b - a; printf "%d min %04.1f s (%.0f s)", s / 60, s - 60 * int(s / 60), s }'; }
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime; }

echo "newcomer timings: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo 2>/dev/null) memory"
echo "source: $src ($(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "pip cache: $(du -sh "$(python3 -m pip cache dir 2>/dev/null || echo ~/.cache/pip)" 2>/dev/null | cut -f1 || echo none); load average at start: $(load)"

t0=$(now)
git clone --quiet "$src" "$clone"
t1=$(now)
echo "git clone                       $(secs "$t0" "$t1")"

cd "$clone"
# the environment first, as part of the first `make figures` (the same targets `make figures` builds first)
if ! make --no-print-directory env > "$logs/env.log" 2>&1; then
  tail -30 "$logs/env.log"; echo "make env failed (log above)" >&2; exit 1
fi
t2=$(now)
echo "  of which the base environment $(secs "$t1" "$t2"), .venv/ $(du -sh .venv | cut -f1)"
if ! make --no-print-directory figures > "$logs/figures.log" 2>&1; then
  tail -30 "$logs/figures.log"; echo "make figures failed (log above)" >&2; exit 1
fi
t3=$(now)
echo "  of which sample + notebooks   $(secs "$t2" "$t3") ($(grep -c ': done in ' "$logs/figures.log") notebooks run, $(grep -c ': skipped' "$logs/figures.log" || true) skipped)"
echo "make figures, environment incl. $(secs "$t1" "$t3")"
echo "  slowest notebooks (the runner's own timings, run side by side on $(nproc) cores):"
grep ': done in ' "$logs/figures.log" | sed -E 's/^([^:]+): done in ([0-9.]+) s.*/\2 \1/' | sort -rn | head -5 |
  awk '{printf "    %6.1f s  %s\n", $1, $2}'

# a rerun with nothing changed, then every notebook again with the caches warm (typed release cache,
# UMAP and similarity caches): what a reader pays after editing a notebook or the package
t6=$(now); make --no-print-directory figures > "$logs/figures-again.log" 2>&1; t7=$(now)
echo "make figures again, nothing changed $(secs "$t6" "$t7")"
touch notebooks/[0-9][0-9]_*.ipynb
t8=$(now); make --no-print-directory figures > "$logs/figures-cached.log" 2>&1; t9=$(now)
echo "make figures, every notebook rerun with warm caches $(secs "$t8" "$t9")"

if [ "$run_tests" = 1 ]; then
  t4=$(now)
  make --no-print-directory test > "$logs/test.log" 2>&1 && rc=0 || rc=$?
  t5=$(now)
  echo "make test, embedding + test layers incl. $(secs "$t4" "$t5") (exit $rc), .venv/ now $(du -sh .venv | cut -f1)"
  grep -E '^(=+ )?[0-9]+ (passed|failed)|passed|failed' "$logs/test.log" | tail -1 | sed 's/^/  /'
  echo "  slowest tests:"
  grep -A16 -E 'slowest [0-9]+ durations' "$logs/test.log" | grep -E '^[0-9.]+s ' | head -15 | sed 's/^/    /' || true
  [ "$rc" = 0 ] || { echo "  make test failed: the last lines of its log:"; tail -40 "$logs/test.log"; }
fi
echo "load average at the end: $(load)"
[ "${KEEP:-0}" = 1 ] && echo "clone and logs kept in $work"
exit 0
