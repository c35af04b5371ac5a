# Keeps background processes running; sourced by run.sh (bash 5.1+: wait -n -p), which starts one: the Aspire AppHost.
#   track <service> <start function> <pid>   after starting a service in the background
#   supervise                                 until a signal: restart whatever dies
#   stop_all                                  SIGTERM every service and wait for it (run.sh's exit trap)
# Why: one crashed process used to end the whole stack, storage included. The AppHost now starts each service (Azurite,
# the function app, the event pump, the runner) again itself (infra/local/AgingPipeline.AppHost/RestartDeadServices.cs);
# this script does the same for the AppHost: after a back-off (1 s, doubling up to 60 s; back to 1 s once it has stayed
# up for 5 minutes), with a line saying which one and how it ended.

declare -A PID_OF=() START_OF=() STARTED_AT=() RESTARTS=()

track() { # track <service> <start function> <pid>
  PID_OF[$1]=$3 START_OF[$1]=$2 STARTED_AT[$1]=$SECONDS
}

stop_all() {
  local pids=("${PID_OF[@]}")
  ((${#pids[@]})) || return 0
  echo
  echo "Stopping ${#pids[@]} processes..."
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

supervise() {
  local died status service delay reason
  while true; do
    died="" status=0
    wait -n -p died "${PID_OF[@]}" || status=$?
    [[ -z "$died" ]] && continue
    for service in "${!PID_OF[@]}"; do
      [[ "${PID_OF[$service]}" == "$died" ]] || continue
      if ((SECONDS - STARTED_AT[$service] >= 300)); then RESTARTS[$service]=0; fi
      RESTARTS[$service]=$((${RESTARTS[$service]:-0} + 1))
      delay=$((1 << (RESTARTS[$service] - 1 < 6 ? RESTARTS[$service] - 1 : 6)))
      ((delay > 60)) && delay=60
      reason="exit code $status"
      ((status > 128)) && reason="killed by signal $((status - 128)) ($(kill -l $((status - 128)) 2>/dev/null || echo '?'))"
      echo "$(date -u +%H:%M:%S) $service died ($reason) after $((SECONDS - STARTED_AT[$service])) s; restarting it in $delay s (restart ${RESTARTS[$service]}; log: ${LOGS:-.}/$service.log)" >&2
      unset "PID_OF[$service]"
      # In the background, so that Ctrl-C (a trapped signal) interrupts the wait at once.
      sleep "$delay" & wait $! || true
      "${START_OF[$service]}"
    done
  done
}
