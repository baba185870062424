import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { VPN_CLIENT_CERT_PROFILE, vpnClientSubject, type VpnUser } from "../constructs/vpn-client-profile";
import { VPN_SERVER_CERT_PROFILE } from "../constructs/vpn-server-profile";

/** openssl's names for the profile's key usages. */
const OPENSSL_USAGE: Record<string, string> = {
  digital_signature: "digitalSignature",
  key_encipherment: "keyEncipherment",
  client_auth: "clientAuth",
};
const CURVE: Record<string, string> = { P256: "prime256v1" };

function openssl(args: string[], cwd: string): string {
  return execFileSync("openssl", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function ecKey(dir: string, name: string, curve: string): string {
  const path = join(dir, `${name}.key`);
  openssl(["ecparam", "-name", CURVE[curve], "-genkey", "-noout", "-out", path], dir);
  return path;
}

/** `openssl req -x509`: a self-signed certificate for a key, with extra extensions. */
function selfSign(dir: string, key: string, cert: string, subject: string, days: number, extensions: readonly string[]): void {
  openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      key,
      "-subj",
      subject,
      "-days",
      String(days),
      ...extensions.flatMap((extension) => ["-addext", extension]),
      "-out",
      cert,
    ],
    dir,
  );
}

export interface TestCa {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
}

/** A client CA like the stack's TlsCertificateAuthority (ECDSA P-256, CA:true, certSign). */
export function createCa(dir: string, name: string): TestCa {
  mkdirSync(dir, { recursive: true });
  const key = ecKey(dir, name, "P256");
  const cert = join(dir, `${name}.crt`);
  selfSign(dir, key, cert, `/CN=${name}`, 3650, [
    "basicConstraints=critical,CA:true",
    "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
  ]);
  return { dir, cert, key };
}

export interface IssuedCert {
  readonly cert: string;
  readonly key: string;
}

/**
 * A client certificate from VPN_CLIENT_CERT_PROFILE: same key type, subject (CN user, OU group,
 * O), key usage, extended key usage and validity as the VPN stack issues. `expired` backdates
 * both validity dates into the past (via `openssl ca`).
 */
export function issueClientCert(ca: TestCa, user: VpnUser, options: { expired?: boolean } = {}): IssuedCert {
  const profile = VPN_CLIENT_CERT_PROFILE;
  const dir = join(ca.dir, user.name + (options.expired ? "-expired" : ""));
  mkdirSync(dir, { recursive: true });
  const key = ecKey(dir, "client", profile.ecdsaCurve);
  const subject = vpnClientSubject(user);
  const csr = join(dir, "client.csr");
  openssl(
    [
      "req",
      "-new",
      "-key",
      key,
      "-subj",
      `/O=${subject.organization}/OU=${subject.organizationalUnit}/CN=${subject.commonName}`,
      "-out",
      csr,
    ],
    dir,
  );
  const extensions = join(dir, "ext.cnf");
  writeFileSync(
    extensions,
    [
      "[client]",
      "basicConstraints = critical,CA:false",
      `keyUsage = critical,${profile.keyUsage.map((usage) => OPENSSL_USAGE[usage]).join(",")}`,
      `extendedKeyUsage = ${OPENSSL_USAGE[profile.extendedKeyUsage]}`,
      "",
      "[ca]",
      "default_ca = test",
      "[test]",
      `dir = ${dir}`,
      "database = $dir/index.txt",
      "new_certs_dir = $dir",
      "serial = $dir/serial",
      "default_md = sha256",
      "policy = any",
      "copy_extensions = none",
      "[any]",
      "commonName = supplied",
      "organizationName = optional",
      "organizationalUnitName = optional",
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), `${Date.now().toString(16).padStart(16, "0")}\n`);
  const cert = join(dir, "client.crt");
  const validity = options.expired
    ? ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]
    : ["-days", String(profile.validityHours / 24)];
  openssl(
    [
      "ca",
      "-batch",
      "-config",
      extensions,
      "-extensions",
      "client",
      "-cert",
      ca.cert,
      "-keyfile",
      ca.key,
      "-in",
      csr,
      "-out",
      cert,
      "-notext",
      "-preserveDN",
      ...validity,
    ],
    dir,
  );
  return { cert, key };
}

/** The gateway's self-signed server certificate, as the stack generates it, for an IP address. */
export function issueServerCert(dir: string, address: string): IssuedCert & { pin: string } {
  mkdirSync(dir, { recursive: true });
  const key = ecKey(dir, "server", VPN_SERVER_CERT_PROFILE.ecdsaCurve);
  const cert = join(dir, "server.crt");
  selfSign(dir, key, cert, `/CN=${address}`, VPN_SERVER_CERT_PROFILE.validityHours / 24, [
    `subjectAltName=IP:${address}`,
    "extendedKeyUsage=serverAuth",
  ]);
  return { cert, key, pin: serverPin(cert) };
}

/** openconnect's `pin-sha256:` value: base64 of the SHA-256 of the public key (SPKI DER). */
export function serverPin(certPath: string): string {
  const publicKey = execFileSync("openssl", ["x509", "-in", certPath, "-pubkey", "-noout"]);
  const der = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: publicKey });
  return `pin-sha256:${execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: der }).toString("base64")}`;
}
