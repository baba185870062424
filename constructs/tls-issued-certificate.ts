import { CertRequest } from "@cdktf/provider-tls/lib/cert-request";
import { LocallySignedCert } from "@cdktf/provider-tls/lib/locally-signed-cert";
import type { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { Construct } from "constructs";
import { privateKeyFor, type KeyAlgorithm, type TlsCertificateAuthority } from "./tls-certificate-authority";

export type CertificateUse = "client_auth" | "server_auth";

export interface TlsIssuedCertificateProps {
  readonly ca: TlsCertificateAuthority;
  readonly commonName: string;
  /**
   * Subject O; Kubernetes reads it as the group (e.g. system:masters).
   * @default none
   */
  readonly organization?: string;
  /**
   * Subject OU; ocserv can read the VPN group from it.
   * @default none
   */
  readonly organizationalUnit?: string;
  readonly use: CertificateUse;
  /**
   * Key usages besides the extended one. Default digital_signature and key_encipherment.
   * @default ["digital_signature", "key_encipherment"]
   */
  readonly keyUsage?: readonly string[];
  readonly validityHours: number;
  /**
   * Renew this long before expiry on the next apply. Default a tenth of the validity.
   * @default a tenth of validityHours
   */
  readonly earlyRenewalHours?: number;
  /**
   * Subject alternative DNS names.
   * @default none
   */
  readonly dnsNames?: readonly string[];
  /**
   * Subject alternative IP addresses.
   * @default none
   */
  readonly ipAddresses?: readonly string[];
  /**
   * Default: the CA's algorithm.
   * @default the CA's algorithm
   */
  readonly algorithm?: KeyAlgorithm;
}

/** A key and a certificate signed by one of our CAs. */
export class TlsIssuedCertificate extends Construct {
  readonly key: PrivateKey;
  readonly cert: LocallySignedCert;

  constructor(scope: Construct, id: string, props: TlsIssuedCertificateProps) {
    super(scope, id);
    if (!props.commonName.trim()) throw new Error(`TlsIssuedCertificate ${id}: commonName is empty`);
    if (!Number.isInteger(props.validityHours) || props.validityHours < 1) {
      throw new Error(`TlsIssuedCertificate ${id}: validityHours ${props.validityHours} must be a positive whole number`);
    }
    const earlyRenewalHours = props.earlyRenewalHours ?? Math.floor(props.validityHours / 10);
    if (earlyRenewalHours >= props.validityHours) {
      throw new Error(
        `TlsIssuedCertificate ${id}: earlyRenewalHours ${earlyRenewalHours} must be less than validityHours ${props.validityHours}`,
      );
    }
    this.key = privateKeyFor(this, "key", props.algorithm ?? props.ca.algorithm);
    const request = new CertRequest(this, "request", {
      privateKeyPem: this.key.privateKeyPem,
      subject: [
        {
          commonName: props.commonName,
          ...(props.organization ? { organization: props.organization } : {}),
          ...(props.organizationalUnit ? { organizationalUnit: props.organizationalUnit } : {}),
        },
      ],
      ...(props.dnsNames ? { dnsNames: [...props.dnsNames] } : {}),
      ...(props.ipAddresses ? { ipAddresses: [...props.ipAddresses] } : {}),
    });
    this.cert = new LocallySignedCert(this, "cert", {
      certRequestPem: request.certRequestPem,
      caPrivateKeyPem: props.ca.keyPem,
      caCertPem: props.ca.certPem,
      validityPeriodHours: props.validityHours,
      earlyRenewalHours,
      allowedUses: [...(props.keyUsage ?? ["digital_signature", "key_encipherment"]), props.use],
    });
  }

  get certPem(): string {
    return this.cert.certPem;
  }

  get keyPem(): string {
    return this.key.privateKeyPem;
  }
}
