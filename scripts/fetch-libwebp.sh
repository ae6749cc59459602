#!/usr/bin/env bash
# fetch-libwebp.sh DIR: puts libwebp's decoder sources in DIR, exactly as
# Debian builds them (bookworm's 1.2.4-0.2+deb12u1: the upstream tarball plus
# Debian's patches, CVE-2023-4863's fix for lossless Huffman tables among
# them). Debian ships libwebp only as native binaries, so the source comes
# from Debian's archive itself; both files are pinned by sha256.
# Idempotent: does nothing when DIR/.patched exists.
set -euo pipefail
dir=${1:?usage: fetch-libwebp.sh DIR}
[ -f "$dir/.patched" ] && exit 0

ver=1.2.4
deb=0.2+deb12u1
orig=libwebp_${ver}.orig.tar.gz
orig_sha=7bf5a8a28cc69bcfa8cb214f2c3095703c6b73ac5fba4d5480c205331d9494df
debtar=libwebp_${ver}-${deb}.debian.tar.xz
debtar_sha=69cdba4dfe2e1b34d55fa80c1b29c31cacd40dd183812d6bcca7e508a2f7afcd
# The security archive first (where deb12u1 was published), then the main
# archive (where point releases copy it).
mirrors=(http://deb.debian.org/debian-security/pool/updates/main/libw/libwebp
         http://deb.debian.org/debian/pool/main/libw/libwebp)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fetch() { # file sha256
  for m in "${mirrors[@]}"; do
    if curl -fsL --retry 2 -o "$tmp/$1" "$m/$1" && echo "$2  $tmp/$1" | sha256sum -c --quiet - 2>/dev/null; then
      return 0
    fi
  done
  echo "fetch-libwebp.sh: could not download $1 with sha256 $2 from Debian's archive" >&2
  exit 1
}
echo "fetch-libwebp.sh: libwebp $ver-$deb source from deb.debian.org" >&2
fetch "$orig" "$orig_sha"
fetch "$debtar" "$debtar_sha"
tar -xzf "$tmp/$orig" -C "$tmp"
tar -xJf "$tmp/$debtar" -C "$tmp/libwebp-$ver"
( cd "$tmp/libwebp-$ver"
  while read -r p; do
    case "$p" in ''|'#'*) continue ;; esac
    patch -p1 -s --no-backup-if-mismatch < "debian/patches/$p"
  done < debian/patches/series )
rm -rf "$dir"
mkdir -p "$(dirname "$dir")"
mv "$tmp/libwebp-$ver" "$dir"
touch "$dir/.patched"
