#!/bin/bash
# `cairn verify --target` on a local target: a good copy passes (text and
# --json, --deep test-restores it); a flipped byte in the archive on the
# target, a missing sidecar, a truncated object each fail (exit 1) with
# one line naming the target and the object; an encrypted target is
# checked over its ciphertexts without any key.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/verify-target-peer.sh"

mss_backed_up
cat >>"$T/c.conf" <<EOC

[target nas]
plugin = local
path = $T/nas
EOC
mkdir -p "$T/nas"
expect_rc 0 "$CAIRN" -c "$T/c.conf" backup
name=$(cd "$A" && ls -t mss-backup-2*.tar.zst | head -1)
nas() { echo "$T/nas/$1"; }
vt_checks nas "$T/c.conf" "$name" nas

note "encrypt = age: checked over the ciphertexts, no key at hand"
age-keygen -o "$T/key" 2>/dev/null
cat >>"$T/c.conf" <<EOC

[target vault]
plugin = local
path = $T/vault
encrypt = age
recipients = $(age-keygen -y "$T/key")
EOC
mkdir -p "$T/vault"
expect_rc 0 "$CAIRN" -c "$T/c.conf" sync --target vault
mv "$T/key" "$T/key.kept"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify --target vault "$name"
# the archive, its manifest and its index, each as ciphertext
out_has "target vault: $name: OK \(3 objects"
mv "$T/vault/$name.index.age" "$T/good.ix"
expect_rc 1 "$CAIRN" -c "$T/c.conf" verify --target vault "$name"
out_has "$name.index.age: missing"
mv "$T/good.ix" "$T/vault/$name.index.age"
cp "$T/vault/$name.age" "$T/good"
flip "$T/vault/$name.age"
expect_rc 1 "$CAIRN" -c "$T/c.conf" verify --target vault
out_has "target vault: $name.age: sha256 .* $name.age.sha256 says"
cp "$T/good" "$T/vault/$name.age"
cp "$T/vault/$name.manifest.age" "$T/good.man"
rm "$T/vault/$name.manifest.age"
expect_rc 1 "$CAIRN" -c "$T/c.conf" verify --target vault
out_has "target vault: $name.manifest.age: missing"
cp "$T/good.man" "$T/vault/$name.manifest.age"

note "encrypt = age, --deep: decrypted as fetched, members test-restored"
expect_rc 2 "$CAIRN" -c "$T/c.conf" verify --target vault --deep "$name"
out_has "target vault is encrypted: an identity is needed"
expect_rc 0 "$CAIRN" -c "$T/c.conf" verify --target vault --deep \
	--identity "$T/key.kept" "$name"
out_has "^target vault: $name: OK .* members against the manifest, 1 SQLite"
age-keygen -o "$T/other" 2>/dev/null
expect_rc 1 "$CAIRN" -c "$T/c.conf" verify --target vault --deep \
	--identity "$T/other" "$name"
out_has "no identity matches its recipients"
echo "verify-target-local: ok"
