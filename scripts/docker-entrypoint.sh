#!/bin/sh
# Container entrypoint: apply every pending migration (core and all enabled extensions), then
# replace this shell with the container's command, e.g.
#
#   ENTRYPOINT ["/app/node_modules/orchestrate/scripts/docker-entrypoint.sh"]
#   CMD ["node", "server.js"]
#
# Environment:
#   DATABASE_URL                 required: the database to migrate (postgresql://...)
#   APP_EXTENSIONS               enabled extensions, comma separated
#   ORCHESTRATE_WAIT             seconds to wait for the database to answer (default 30)
#   ORCHESTRATE_ALLOW_EMBEDDED=1 migrate the embedded database inside the container when
#                                DATABASE_URL is unset (only for demos: it is thrown away with it)
#   ORCHESTRATE_STRICT           exported as 1 unless set: extension folders or history tables
#                                of extensions that APP_EXTENSIONS leaves out stop the start (exit 3)
#   ORCHESTRATE_CMD              how to run orchestrate, e.g. "node /app/dist/cli.js"; default:
#                                `orchestrate` on PATH, else ./node_modules/.bin/orchestrate, else
#                                the dist/cli.js of the package this script belongs to
#
# Several containers may start at once: the migration lock lets one apply, the others wait and
# then find nothing to do. If migrating fails, the command is not started and the container
# exits with orchestrate's exit code (1 database error, 2 bad input, 3 a check failed).
set -u

say() {
  echo "docker-entrypoint: $*" >&2
}

if [ -z "${DATABASE_URL:-}" ] && [ "${ORCHESTRATE_ALLOW_EMBEDDED:-}" != "1" ]; then
  say "DATABASE_URL is not set, so there is no database to migrate; set it to the application's database (postgresql://user:password@host:5432/db), or set ORCHESTRATE_ALLOW_EMBEDDED=1 to migrate a throwaway embedded database inside the container."
  exit 2
fi

# The folder of this script, so that a copy of the orchestrate repository (or of its package)
# finds its own dist/cli.js.
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)

# Which orchestrate to run is decided once, before anything runs. The function that runs it
# must not be called `orchestrate`: `command -v orchestrate` would find the function itself.
if [ -n "${ORCHESTRATE_CMD:-}" ]; then
  how=custom
elif command -v orchestrate >/dev/null 2>&1; then
  how=path
elif [ -x ./node_modules/.bin/orchestrate ]; then
  how=local
elif [ -f "$here/../dist/cli.js" ]; then
  how=package
else
  say "cannot find orchestrate (not on PATH, not in ./node_modules/.bin, no $here/../dist/cli.js); install the package in the image (pnpm add orchestrate), run \`pnpm build\` in a copy of its repository, or set ORCHESTRATE_CMD."
  exit 127
fi

run_orchestrate() {
  case "$how" in
    # Word splitting is intended: ORCHESTRATE_CMD may be "node /app/dist/cli.js".
    # shellcheck disable=SC2086
    custom) $ORCHESTRATE_CMD "$@" ;;
    path) orchestrate "$@" ;;
    local) ./node_modules/.bin/orchestrate "$@" ;;
    package) node "$here/../dist/cli.js" "$@" ;;
  esac
}

export ORCHESTRATE_WAIT="${ORCHESTRATE_WAIT:-30}"
export ORCHESTRATE_STRICT="${ORCHESTRATE_STRICT:-1}"

# orchestrate reads ORCHESTRATE_WAIT itself, so its messages name the variable to raise.
run_orchestrate migrate --all
status=$?
if [ "$status" -ne 0 ]; then
  say "migrations failed (orchestrate exit code $status), so the container command was not started; see the error above."
  exit "$status"
fi

if [ "$#" -eq 0 ]; then
  exit 0
fi
exec "$@"
