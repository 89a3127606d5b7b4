#!/usr/bin/env bash
# Commit a background run's resume state every INTERVAL minutes, so that a lost machine costs at most
# that much training (the run folder under runs/ is not in git).
#
#   setsid -f tools/commit_run_state.sh runs/sudoku-trm-h128 training/sudoku-trm-h128 45 \
#       > runs/sudoku-trm-h128/commits.log 2>&1 < /dev/null
#
# Each round copies config.json, metrics.jsonl, resume.pt and best.safetensors (when resume.pt changed
# since the last round) and commits only DEST, leaving whatever else is staged alone. It stops when
# no process holds the run's lock and nothing changed.
set -u
run=$1 dest=$2 minutes=${3:-45}
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)" || exit 1
last=""
while true; do
    sleep $((minutes * 60))
    stamp=$(stat -c %Y "$run/resume.pt" 2>/dev/null || echo "")
    if [ -n "$stamp" ] && [ "$stamp" != "$last" ]; then
        mkdir -p "$dest"
        for name in config.json metrics.jsonl resume.pt best.safetensors; do
            [ -f "$run/$name" ] && cp "$run/$name" "$dest/$name.tmp" && mv "$dest/$name.tmp" "$dest/$name"
        done
        step=$(python3 -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]) if '\"step\"' in l]; print(rows[-1]['step'] if rows else '?')" "$dest/metrics.jsonl" 2>/dev/null || echo "?")
        for attempt in 1 2 3 4 5; do     # another snapshot loop may hold git's index lock for a moment
            if git add "$dest" && git commit -q -m "Resume state of $(basename "$run") (automatic snapshot, metrics to step $step)" -- "$dest"; then
                echo "$(date -u +%FT%TZ) committed $dest at step $step" && last=$stamp && break
            fi
            sleep $((attempt * 7))
        done
    fi
    # the run's lock file stays after it ends (hrm/train/runlock.py); a run ended when nobody holds it
    if [ "$stamp" = "$last" ] && flock -n "$run/run.lock" true 2>/dev/null; then exit 0; fi
done
