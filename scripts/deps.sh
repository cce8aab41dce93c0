#!/usr/bin/env bash
# Installs the system packages tapsim needs to build and test, when missing.
# Safe to run again: it does nothing when everything is there.
#
# libpcsclite-dev, pkg-config and gcc build the PC/SC binding (cgo);
# pcscd and vsmartcard-vpcd (the virtual reader driver) run the PC/SC
# end-to-end tests, which start their own private pcscd: nothing is started
# here. pcscd creates /run/pcscd even when it is handed its socket, so that
# directory is made once here, as root.
# postgresql (server and initdb) runs the issuer store's PostgreSQL tests,
# which start a private server per test binary on a socket in a temporary
# directory; they never use a cluster the package may have started.
set -euo pipefail

pkgs=(libpcsclite-dev pkg-config gcc pcscd vsmartcard-vpcd tmux postgresql)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
needdir=0
[ -d /run/pcscd ] || needdir=1
if [ ${#missing[@]} -eq 0 ] && [ $needdir -eq 0 ]; then
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		sudo="sudo"
	elif [ ${#missing[@]} -gt 0 ]; then
		echo "deps: need root (or sudo) to install ${missing[*]}" >&2
		exit 1
	else
		echo "deps: /run/pcscd is missing and needs root: the PC/SC end-to-end tests will be skipped" >&2
		exit 0
	fi
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ $needdir -eq 0 ] || $sudo install -d /run/pcscd
