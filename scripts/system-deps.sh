#!/usr/bin/env bash
# Debian packages the test suite uses: dovecot (a real IMAP server for the e-mail channel), chromium (the
# console's browser journeys drive it with Playwright, which never downloads a browser of its own) and clamav-daemon
# (the malware-scan tests start their own clamd with a test signature; no freshclam, no network).
set -u
need=()
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: cannot install ${need[*]} (not root or no apt-get); tests needing them will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || echo "system-deps: apt-get install ${need[*]} failed" >&2
# dovecot's package starts a system instance; the tests run their own.
(service dovecot stop || pkill -x dovecot) >/dev/null 2>&1 || true
# clamav-daemon's package enables a system clamd and freshclam; the tests run their own clamd.
(service clamav-daemon stop; service clamav-freshclam stop) >/dev/null 2>&1 || true
exit 0
