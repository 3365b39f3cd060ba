#!/bin/sh
# Renders /etc/nginx/templates/<name>.template into /etc/nginx/conf.d/<name>, substituting
# only the environment variables whose names match NGINX_ENVSUBST_FILTER (all when unset),
# as the real image's 20-envsubst-on-templates.sh does.
set -eu
filter=${NGINX_ENVSUBST_FILTER:-}
vars=$(env | cut -d= -f1 | grep -E "$filter" | sed 's/^/${/; s/$/}/' | tr '\n' ' ')
for template in /etc/nginx/templates/*.template; do
    [ -f "$template" ] || continue
    name=$(basename "$template" .template)
    envsubst "$vars" <"$template" >"/etc/nginx/conf.d/$name"
done
exec "$@"
