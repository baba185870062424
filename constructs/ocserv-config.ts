import { cidrPrefix, cidrRange, isIpv4, isIpv4Cidr, netmaskOf, rangesOverlap } from "../lib/ipv4";

/** Paths ocserv reads on the gateway; the VPN stack's cloud-init writes these files. */
export const OCSERV_PATHS = {
  config: "/etc/ocserv/ocserv.conf",
  serverCert: "/etc/ocserv/server-cert.pem",
  serverKey: "/etc/ocserv/server-key.pem",
  clientCa: "/etc/ocserv/client-ca.pem",
  allowedUsers: "/etc/ocserv/allowed-users",
  connectScript: "/etc/ocserv/connect-allowed",
} as const;

/** The ocserv release Debian bookworm ships; options from later releases are gated on it. */
export const DEBIAN_OCSERV_VERSION = "1.1.6";

/**
 * Cipher policy: TLS 1.2+ (and DTLS 1.2), forward-secret key exchange only. TLS 1.3 is off as
 * in Debian's default, because AnyConnect's DTLS negotiation is tied to the TLS 1.2 session.
 */
export const OCSERV_TLS_PRIORITIES =
  "NORMAL:%SERVER_PRECEDENCE:%COMPAT:-RSA:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-TLS1.3:-VERS-DTLS1.0:-ARCFOUR-128:-3DES-CBC";

export type SecondFactor =
  | { readonly kind: "none" }
  | { readonly kind: "radius"; readonly radiusConfig: string }
  | { readonly kind: "password"; readonly passwordFile: string };

export interface OcservConfigProps {
  /**
   * Default 443 for both: TLS on TCP, DTLS on UDP.
   * @default 443
   */
  readonly tcpPort?: number;
  /**
   * UDP port for DTLS.
   * @default 443
   */
  readonly udpPort?: number;
  /** Addresses handed to clients. */
  readonly pool: string;
  /** Networks pushed to clients (split tunnel): the platform networks only. */
  readonly routes: readonly string[];
  /**
   * Send all traffic through the VPN. Cannot be combined with split-tunnel routes.
   * @default false (split tunnel over `routes`)
   */
  readonly defaultRoute?: boolean;
  readonly dnsServers: readonly string[];
  /**
   * Domains resolved through the VPN's DNS (split DNS).
   * @default []
   */
  readonly splitDnsDomains?: readonly string[];
  /** Users allowed in, by certificate CN; anyone else is refused even with a valid certificate. */
  readonly users: ReadonlyArray<{ readonly name: string; readonly group: string }>;
  /**
   * Default certificate only; RADIUS or a password file adds a second factor (both required).
   * @default none (certificate only)
   */
  readonly secondFactor?: SecondFactor;
  /**
   * Most concurrent sessions.
   * @default 128
   */
  readonly maxClients?: number;
  /**
   * Most concurrent sessions per user.
   * @default 2
   */
  readonly maxSameClients?: number;
  /**
   * Minimum interval between a client's connection attempts.
   * @default 100
   */
  readonly rateLimitMs?: number;
  /**
   * Idle sessions are closed after this.
   * @default 1200
   */
  readonly idleTimeoutSeconds?: number;
  /**
   * The same for mobile clients.
   * @default 2400
   */
  readonly mobileIdleTimeoutSeconds?: number;
  /**
   * DNS domain pushed to clients.
   * @default "vpn.internal"
   */
  readonly defaultDomain?: string;
  /**
   * The ocserv on the gateway; newer options are emitted only when it supports them.
   * @default DEBIAN_OCSERV_VERSION (Debian bookworm's 1.1.6)
   */
  readonly ocservVersion?: string;
  /**
   * Hide the VPN behind a secret URL (ocserv ≥ 1.2 only).
   * @default off
   */
  readonly camouflage?: { readonly secret: string; readonly realm: string };
  /**
   * Overrides for tests that run ocserv as a normal process.
   * @default the Debian package's paths
   */
  readonly paths?: Partial<Record<keyof typeof OCSERV_PATHS, string>>;
  /**
   * The unprivileged user and group the workers run as.
   * @default nobody / nogroup
   */
  readonly runAs?: { readonly user: string; readonly group: string };
  /**
   * ocserv's control socket.
   * @default "/run/ocserv-socket"
   */
  readonly socketFile?: string;
  /**
   * ocserv's pid file.
   * @default "/run/ocserv.pid"
   */
  readonly pidFile?: string;
  /**
   * Prefix of the tun devices.
   * @default "vpns"
   */
  readonly device?: string;
}

export class OcservConfigError extends Error {}

function versionAtLeast(version: string, minimum: string): boolean {
  const a = version.split(".").map(Number);
  const b = minimum.split(".").map(Number);
  for (let index = 0; index < Math.max(a.length, b.length); index++) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference > 0;
  }
  return true;
}

function validate(props: OcservConfigProps): void {
  const fail = (field: string, message: string) => {
    throw new OcservConfigError(`OcservConfig: ${field}: ${message}`);
  };
  if (!isIpv4Cidr(props.pool)) fail("pool", `"${props.pool}" is not an IPv4 CIDR`);
  props.routes.forEach((route, index) => {
    if (!isIpv4Cidr(route)) fail(`routes[${index}]`, `"${route}" is not an IPv4 CIDR`);
  });
  const pool = cidrRange(props.pool);
  props.routes.forEach((route, index) => {
    if (rangesOverlap(pool, cidrRange(route))) fail("pool", `"${props.pool}" overlaps routes[${index}] "${route}"`);
    props.routes.forEach((other, otherIndex) => {
      if (otherIndex > index && rangesOverlap(cidrRange(route), cidrRange(other)))
        fail(`routes[${otherIndex}]`, `"${other}" overlaps routes[${index}] "${route}"`);
    });
  });
  if (props.defaultRoute && props.routes.length > 0)
    fail("defaultRoute", "a default route cannot be combined with split-tunnel routes; drop one");
  if (!props.defaultRoute && props.routes.length === 0)
    fail("routes", "is empty; give the platform networks (split tunnel) or set defaultRoute");
  props.dnsServers.forEach((server, index) => {
    if (!isIpv4(server)) fail(`dnsServers[${index}]`, `"${server}" is not an IPv4 address`);
  });
  if (props.users.length === 0) fail("users", "is empty; certificate authentication would admit nobody");
  props.users.forEach((user, index) => {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(user.name))
      fail(`users[${index}].name`, `"${user.name}" must be lower-case letters, digits, ".", "_" or "-"`);
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(user.group))
      fail(`users[${index}].group`, `"${user.group}" must be lower-case letters, digits, ".", "_" or "-"`);
  });
  for (const [field, port] of [
    ["tcpPort", props.tcpPort],
    ["udpPort", props.udpPort],
  ] as const) {
    if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) fail(field, `${port} is not a port`);
  }
  const version = props.ocservVersion ?? DEBIAN_OCSERV_VERSION;
  if (!/^\d+\.\d+(\.\d+)?$/.test(version)) fail("ocservVersion", `"${version}" is not a version like 1.1.6`);
  if (props.camouflage && !versionAtLeast(version, "1.2.0")) {
    fail("camouflage", `needs ocserv 1.2 or later; ocservVersion is ${version}, which would silently ignore it`);
  }
  if (props.secondFactor?.kind === "radius" && !props.secondFactor.radiusConfig.startsWith("/"))
    fail("secondFactor.radiusConfig", "must be an absolute path");
  if (props.secondFactor?.kind === "password" && !props.secondFactor.passwordFile.startsWith("/"))
    fail("secondFactor.passwordFile", "must be an absolute path");
}

/**
 * Renders ocserv.conf: certificate authentication (user from CN, group from OU) with an
 * optional second factor, TCP and UDP with DTLS, Cisco client compatibility, split tunnel and
 * split DNS, limits, isolated workers, strict TLS priorities and no compression.
 */
export function renderOcservConfig(props: OcservConfigProps): string {
  validate(props);
  const paths = { ...OCSERV_PATHS, ...props.paths };
  const poolPrefix = cidrPrefix(props.pool);
  const lines: string[] = [
    "# Rendered by cdktf (constructs/ocserv-config.ts); edit the site config, not this file.",
    'auth = "certificate"',
  ];
  // Several auth lines are ANDed by ocserv: a second factor is required in addition to the cert.
  if (props.secondFactor?.kind === "radius") lines.push(`auth = "radius[config=${props.secondFactor.radiusConfig},groupconfig=true]"`);
  if (props.secondFactor?.kind === "password") lines.push(`auth = "plain[passwd=${props.secondFactor.passwordFile}]"`);
  lines.push(
    `tcp-port = ${props.tcpPort ?? 443}`,
    `udp-port = ${props.udpPort ?? 443}`,
    `run-as-user = ${props.runAs?.user ?? "nobody"}`,
    `run-as-group = ${props.runAs?.group ?? "nogroup"}`,
    `socket-file = ${props.socketFile ?? "/run/ocserv-socket"}`,
    `pid-file = ${props.pidFile ?? "/run/ocserv.pid"}`,
    `server-cert = ${paths.serverCert}`,
    `server-key = ${paths.serverKey}`,
    `ca-cert = ${paths.clientCa}`,
    // The user is the certificate's CN, the group its OU: both come from the client CA profile.
    "cert-user-oid = 2.5.4.3",
    "cert-group-oid = 2.5.4.11",
    // Authorization: only users in the site config's list get a session (see the README on revocation).
    `connect-script = ${paths.connectScript}`,
    "isolate-workers = true",
    `max-clients = ${props.maxClients ?? 128}`,
    `max-same-clients = ${props.maxSameClients ?? 2}`,
    `rate-limit-ms = ${props.rateLimitMs ?? 100}`,
    "server-stats-reset-time = 604800",
    "keepalive = 32400",
    "dpd = 90",
    "mobile-dpd = 1800",
    "switch-to-tcp-timeout = 25",
    "try-mtu-discovery = true",
    `tls-priorities = "${OCSERV_TLS_PRIORITIES}"`,
    "auth-timeout = 240",
    `idle-timeout = ${props.idleTimeoutSeconds ?? 1200}`,
    `mobile-idle-timeout = ${props.mobileIdleTimeoutSeconds ?? 2400}`,
    "min-reauth-time = 300",
    "max-ban-score = 80",
    "ban-reset-time = 1200",
    "cookie-timeout = 300",
    "deny-roaming = false",
    "rekey-time = 172800",
    "rekey-method = ssl",
    "use-occtl = true",
    "log-level = 1",
    `device = ${props.device ?? "vpns"}`,
    "predictable-ips = true",
    `default-domain = ${props.defaultDomain ?? "vpn.internal"}`,
    `ipv4-network = ${props.pool.split("/")[0]}`,
    `ipv4-netmask = ${netmaskOf(poolPrefix)}`,
    "ping-leases = false",
    "compression = false",
    "cisco-client-compat = true",
    "dtls-legacy = true",
    "client-bypass-protocol = false",
    ...props.dnsServers.map((server) => `dns = ${server}`),
    ...(props.splitDnsDomains ?? []).map((domain) => `split-dns = ${domain}`),
    ...(props.defaultRoute
      ? ["route = default"]
      : props.routes.map((route) => `route = ${route.split("/")[0]}/${netmaskOf(cidrPrefix(route))}`)),
  );
  if (props.camouflage) {
    lines.push("camouflage = true", `camouflage_secret = "${props.camouflage.secret}"`, `camouflage_realm = "${props.camouflage.realm}"`);
  }
  return `${lines.join("\n")}\n`;
}

/** The users file the connect script checks: one allowed user per line. */
export function renderAllowedUsers(users: OcservConfigProps["users"]): string {
  return users.map((user) => user.name).join("\n") + "\n";
}

/**
 * ocserv's connect script: a non-zero exit refuses the session. It admits only users listed
 * in the allowed-users file, so a user removed from the site config is refused even while
 * their certificate is still within its validity.
 */
export function renderConnectScript(allowedUsersFile: string = OCSERV_PATHS.allowedUsers): string {
  // No "\${" anywhere: this text goes into Terraform-rendered user-data, where it is template syntax.
  return `#!/bin/sh
# Called by ocserv with REASON and USERNAME (the certificate's CN) for every session.
[ "$REASON" = "disconnect" ] && exit 0
if [ -n "$USERNAME" ] && grep -qxF -- "$USERNAME" '${allowedUsersFile}'; then
  exit 0
fi
logger -t ocserv-connect "refused $USERNAME: not in ${allowedUsersFile}" 2>/dev/null || true
exit 1
`;
}
