#!/usr/bin/env bash
# scripts/run.sh HERALD_BINARY: what `make run` does after building. Keeps its state in
# ./herald-data, creates a "demo" account with a verified sender the first time, prints how
# to use it, then runs herald in the foreground (Ctrl-C drains and stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
herald=${1:-build/herald}
data=${HERALD_DATA:-herald-data}
conf="$data/herald.toml"
mkdir -p "$data"
chmod 700 "$data"
if [ ! -f "$conf" ]; then
  cat > "$conf" <<TOML
# herald configuration made by make run; every key is in docs/configuration.md.
region = "us-east-1"
hostname = "localhost"
data_dir = "$data"

[http]
listen = "127.0.0.1:8080"

[smtp]
listen = "127.0.0.1:2587"
allow_insecure_auth_on_loopback = true

[delivery]
# herald delivers to the recipients' MX hosts on port 25. To relay through a smarthost
# (an upstream SES SMTP endpoint, your provider), uncomment and fill in:
# routes = ["* email-smtp.us-east-1.amazonaws.com:587 require_tls auth=USER:PASSWORD"]
TOML
fi
if [ ! -f "$data/demo-credentials.json" ]; then
  "$herald" account create demo --json --config "$conf" > "$data/demo-credentials.json"
  chmod 600 "$data/demo-credentials.json"
  "$herald" identity verify --account demo sender@example.com --config "$conf" >/dev/null
fi
creds="$data/demo-credentials.json"
field() { /usr/bin/python3 -c "import json,sys; print(json.load(open('$creds'))['$1'])"; }
AKID=$(field access_key_id); SECRET=$(field secret_access_key)
SMTP_USER=$(field smtp_username); SMTP_PASS=$(field smtp_password)
cat <<MSG

herald is starting: SESv2 API on http://127.0.0.1:8080, SMTP submission on 127.0.0.1:2587.
State lives in $data (SQLite store, spool, events.jsonl). Stop with Ctrl-C.

The "demo" account (sandbox; sender@example.com is verified) has these credentials:
  export AWS_ACCESS_KEY_ID=$AKID
  export AWS_SECRET_ACCESS_KEY=$SECRET
  export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER= AWS_EC2_METADATA_DISABLED=true

Send to the mailbox simulator from another terminal:
  aws --endpoint-url http://127.0.0.1:8080 sesv2 send-email \\
    --from-email-address sender@example.com \\
    --destination ToAddresses=success@simulator.amazonses.com \\
    --content 'Simple={Subject={Data=Hello},Body={Text={Data=Hi from herald}}}'
  aws --endpoint-url http://127.0.0.1:8080 sesv2 get-account

Or over SMTP:
  swaks --server 127.0.0.1:2587 -tls --auth LOGIN --auth-user $SMTP_USER \\
    --auth-password '$SMTP_PASS' --from sender@example.com --to bounce@simulator.amazonses.com

Watch the events:   $herald events tail -f --config $conf
MSG
exec "$herald" serve --config "$conf"
