import ipaddr from "ipaddr.js";

/** An inclusive IPv4 range as 32-bit integers, for overlap and containment checks. */
export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

export function isIpv4(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text);
}

export function isIpv4Cidr(text: string): boolean {
  if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(text)) return false;
  try {
    const [address, prefix] = ipaddr.IPv4.parseCIDR(text);
    return ipv4ToInt(address.toString()) === networkOf(ipv4ToInt(address.toString()), prefix);
  } catch {
    return false;
  }
}

export function ipv4ToInt(text: string): number {
  return ipaddr.IPv4.parse(text)
    .toByteArray()
    .reduce((acc, octet) => acc * 256 + octet, 0);
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function networkOf(address: number, prefix: number): number {
  const size = 2 ** (32 - prefix);
  return Math.floor(address / size) * size;
}

export function cidrRange(cidr: string): Ipv4Range {
  const [address, prefix] = ipaddr.IPv4.parseCIDR(cidr);
  const first = networkOf(ipv4ToInt(address.toString()), prefix);
  return { first, last: first + 2 ** (32 - prefix) - 1 };
}

export function cidrPrefix(cidr: string): number {
  return ipaddr.IPv4.parseCIDR(cidr)[1];
}

export function addressRange(first: string, last: string): Ipv4Range {
  return { first: ipv4ToInt(first), last: ipv4ToInt(last) };
}

export function rangesOverlap(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export function rangeContains(outer: Ipv4Range, inner: Ipv4Range): boolean {
  return outer.first <= inner.first && inner.last <= outer.last;
}

export function rangeSize(range: Ipv4Range): number {
  return range.last - range.first + 1;
}

/** The `count` consecutive addresses starting at `first`. */
export function addressesFrom(first: string, count: number): string[] {
  const start = ipv4ToInt(first);
  return Array.from({ length: count }, (_, index) => intToIpv4(start + index));
}

/** The netmask in dotted form for a prefix length (the mask ocserv and MetalLB docs use). */
export function netmaskOf(prefix: number): string {
  return ipaddr.IPv4.subnetMaskFromPrefixLength(prefix).toString();
}
