#!/bin/sh
# keepalived notify_master: point an overlay IP's routes at this instance, across zones.
#
#   vrrp_instance VI_1 {
#     ...
#     notify_master "/usr/local/bin/keepalived-notify-overlay.sh"
#   }
#
# Configuration (environment, e.g. from a systemd drop-in for keepalived):
#   ENIOPS_OVERLAY  the overlay IP, e.g. 192.168.100.10 (a /32 outside the VPC's ranges)
#   ENIOPS_PEER     instance id of the other keepalived node
#   ENIOPS_ARGS     extra global options for eniops, e.g. "--region eu-west-1" (optional)
#   ENIOPS_DEV      the interface to configure the address on (default: eth0); set
#                   ENIOPS_DEV=none to leave the operating system alone
#   ENIOPS          the eniops command (default: eniops)
#
# The routes move only from the peer (--expect-current): routes to anyone else are left
# alone and the script exits non-zero for a human to look at. eniops changes the routes;
# this script also puts the address on this instance's interface, as the traffic needs.
set -u
: "${ENIOPS_OVERLAY:?set ENIOPS_OVERLAY to the overlay IP}"
: "${ENIOPS_PEER:?set ENIOPS_PEER to the peer instance id}"
eniops=${ENIOPS:-eniops}
dev=${ENIOPS_DEV:-eth0}

log() {
  if command -v logger >/dev/null 2>&1; then logger -t eniops-overlay "$*"; fi
  echo "eniops-overlay: $*" >&2
}

# shellcheck disable=SC2086  # ENIOPS_ARGS is a list of options
$eniops ${ENIOPS_ARGS:-} route move "$ENIOPS_OVERLAY" --to-self --expect-current "$ENIOPS_PEER"
rc=$?
case $rc in
  0) log "$ENIOPS_OVERLAY is routed to this instance" ;;
  4) log "$ENIOPS_OVERLAY is routed to neither this node nor $ENIOPS_PEER: left alone" ;;
  *) log "moving $ENIOPS_OVERLAY failed (eniops exit $rc)" ;;
esac
if [ "$rc" -eq 0 ] && [ "$dev" != none ]; then
  ip address replace "${ENIOPS_OVERLAY%/*}/32" dev "$dev" || log "could not add the address to $dev"
fi
exit "$rc"
