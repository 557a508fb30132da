#!/usr/bin/env bash
# Builds the local images that examples and tests use. Nothing can be pulled on this machine,
# so images are made from Debian's busybox-static: a rootfs tar imported with `docker import`.
#
#   ecsctl/busybox:local   sh, httpd, nc, wget, sleep... (busybox applets), CMD ["sh"]
#
# Idempotent: an image that exists is left alone (pass --force to rebuild).
set -euo pipefail

IMAGE=ecsctl/busybox:local
force=0
[ "${1:-}" = "--force" ] && force=1

if [ "$force" = 0 ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "image $IMAGE already present"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

if ! ls /var/cache/apt/archives/busybox-static_*.deb >/dev/null 2>&1 && ! apt-get download busybox-static >/dev/null 2>&1; then
  apt-get update -qq >/dev/null
  apt-get download busybox-static >/dev/null
fi
deb=$(ls busybox-static_*.deb 2>/dev/null || ls /var/cache/apt/archives/busybox-static_*.deb | head -n1)
dpkg-deb -x "$deb" extracted

root=rootfs
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,www,proc,sys,dev,root}
chmod 1777 "$root/tmp"
cp extracted/bin/busybox "$root/bin/busybox"
# One link per applet, where busybox installs it.
for applet in $("$root/bin/busybox" --list-full); do
  [ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
echo '<h1>ecsctl busybox</h1>' > "$root/www/index.html"

tar -C "$root" -cf rootfs.tar .
docker import \
  --change 'CMD ["sh"]' \
  --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'LABEL ecsctl.test-image=true' \
  rootfs.tar "$IMAGE" >/dev/null
echo "built $IMAGE"
