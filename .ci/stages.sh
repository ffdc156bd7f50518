# Stage timing for .ci/run, sourced by it. `stage NAME` ends the stage before and
# starts NAME; when the script exits, for whatever reason, it prints each stage's wall
# time and CPU time (user + system of every process the stage ran and waited for,
# which, unlike wall time, hardly depends on how busy the machine is), and the totals.

ci_started=$EPOCHREALTIME
ci_stage_rows=()
ci_stage_name=""

# CPU seconds (user + system) of every child this shell has waited for so far, in
# ci_cpu_now. `times` must run in this shell, not in a command substitution's subshell,
# whose children are not this shell's.
ci_times_file=$(mktemp)
ci_read_cpu() {
  times >"$ci_times_file"
  ci_cpu_now=$(awk 'NR == 2 {
    split($1, u, /[ms]/); split($2, s, /[ms]/)
    printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2]
  }' "$ci_times_file")
}

ci_elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }'; }

ci_end_stage() {
  [ -n "$ci_stage_name" ] || return 0
  local cpu
  ci_read_cpu
  cpu=$(awk -v a="$ci_stage_cpu" -v b="$ci_cpu_now" 'BEGIN { printf "%.0f", b - a }')
  ci_stage_rows+=("$ci_stage_name|$(ci_elapsed "$ci_stage_started")|$cpu")
  ci_stage_name=""
}

stage() {
  ci_end_stage
  ci_stage_name=$1
  ci_stage_started=$EPOCHREALTIME
  ci_read_cpu
  ci_stage_cpu=$ci_cpu_now
  printf '\n== %s (at %ss)\n' "$1" "$(ci_elapsed "$ci_started")"
}

ci_report() {
  local status=$? row name wall cpu
  ci_end_stage
  printf '\n%-28s %8s %8s\n' "stage" "wall s" "cpu s"
  for row in "${ci_stage_rows[@]}"; do
    IFS='|' read -r name wall cpu <<<"$row"
    printf '%-28s %8s %8s\n' "$name" "$wall" "$cpu"
  done
  ci_read_cpu
  printf '%-28s %8s %8.0f\n' "total" "$(ci_elapsed "$ci_started")" "$ci_cpu_now"
  rm -f "$ci_times_file"
  [ "$status" = 0 ] && echo "CI passed" || echo "CI failed (exit $status) in stage: ${row%%|*}"
}
trap ci_report EXIT
