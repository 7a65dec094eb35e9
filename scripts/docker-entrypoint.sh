#!/bin/sh
# Container entrypoint: apply every pending migration (core and all enabled extensions), then
# replace this shell with the container's command, e.g.
#
#   ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
#   CMD ["node", "server.js"]
#
# Environment: DATABASE_URL, APP_EXTENSIONS; ORCHESTRATE_WAIT (seconds to wait for the database,
# default 30); ORCHESTRATE_CMD (how to run orchestrate, default: `orchestrate` on PATH, else
# ./node_modules/.bin/orchestrate).
#
# Several containers may start at once: the migration lock lets one apply, the others wait and
# then find nothing to do. If migrating fails, the command is not started and the container
# exits with orchestrate's exit code (1 database error, 2 bad input, 3 a check failed).
set -u

orchestrate() {
  if [ -n "${ORCHESTRATE_CMD:-}" ]; then
    # Word splitting is intended: ORCHESTRATE_CMD may be "node /app/dist/cli.js".
    # shellcheck disable=SC2086
    $ORCHESTRATE_CMD "$@"
  elif command -v orchestrate >/dev/null 2>&1; then
    command orchestrate "$@"
  elif [ -x ./node_modules/.bin/orchestrate ]; then
    ./node_modules/.bin/orchestrate "$@"
  else
    echo "docker-entrypoint: cannot find the orchestrate command; install it in the image or set ORCHESTRATE_CMD." >&2
    return 127
  fi
}

orchestrate migrate --all --wait "${ORCHESTRATE_WAIT:-30}"
status=$?
if [ "$status" -ne 0 ]; then
  echo "docker-entrypoint: migrations failed (orchestrate exit code $status), so the container command was not started; see the error above." >&2
  exit "$status"
fi

if [ "$#" -eq 0 ]; then
  exit 0
fi
exec "$@"
