#!/bin/sh
# keepalived notify_master: take the Elastic IP for this instance, guarded against split brain.
#
#   vrrp_instance VI_1 {
#     ...
#     notify_master "/usr/local/bin/keepalived-notify-master.sh"
#   }
#
# Configuration (environment, e.g. from a systemd drop-in for keepalived):
#   ENIOPS_EIP    allocation id (eipalloc-...) or public IP of the floating address
#   ENIOPS_PEER   instance id of the other keepalived node
#   ENIOPS_ARGS   extra global options for eniops, e.g. "--region eu-west-1" (optional)
#   ENIOPS        the eniops command (default: eniops)
#
# The address is taken only from the peer (--expect-current) or when nobody holds it.
# If a third party holds it, nothing is changed and the script exits non-zero: a human
# should look before anyone fights over the address.
set -u
: "${ENIOPS_EIP:?set ENIOPS_EIP to the Elastic IP allocation id}"
: "${ENIOPS_PEER:?set ENIOPS_PEER to the peer instance id}"
eniops=${ENIOPS:-eniops}

log() {
  if command -v logger >/dev/null 2>&1; then logger -t eniops-notify "$*"; fi
  echo "eniops-notify: $*" >&2
}

# shellcheck disable=SC2086  # ENIOPS_ARGS is a list of options
$eniops ${ENIOPS_ARGS:-} eip remap "$ENIOPS_EIP" --to-self --expect-current "$ENIOPS_PEER"
rc=$?
if [ "$rc" -eq 4 ]; then
  # Not on the peer: take it only if nobody holds it (EC2 refuses atomically otherwise).
  # shellcheck disable=SC2086
  $eniops ${ENIOPS_ARGS:-} eip remap "$ENIOPS_EIP" --to-self --expect-current unassociated
  rc=$?
fi
case $rc in
  0) log "$ENIOPS_EIP is on this instance" ;;
  4) log "$ENIOPS_EIP is held by neither this node nor $ENIOPS_PEER: left alone" ;;
  *) log "taking $ENIOPS_EIP failed (eniops exit $rc)" ;;
esac
exit "$rc"
