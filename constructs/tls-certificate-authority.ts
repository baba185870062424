import { PrivateKey } from "@cdktf/provider-tls/lib/private-key";
import { SelfSignedCert } from "@cdktf/provider-tls/lib/self-signed-cert";
import { Construct } from "constructs";

export type KeyAlgorithm = "ECDSA" | "RSA";

export interface TlsCertificateAuthorityProps {
  readonly commonName: string;
  /**
   * Subject O of the CA.
   * @default none
   */
  readonly organization?: string;
  /**
   * Default ECDSA P-256, as k3s generates its own CAs.
   * @default "ECDSA" (P-256)
   */
  readonly algorithm?: KeyAlgorithm;
  /**
   * Default ten years: rotating a cluster CA is a planned operation, not an expiry surprise.
   * @default 87 600 (ten years)
   */
  readonly validityHours?: number;
}

const TEN_YEARS_HOURS = 10 * 365 * 24;

export function privateKeyFor(scope: Construct, id: string, algorithm: KeyAlgorithm): PrivateKey {
  return algorithm === "ECDSA"
    ? new PrivateKey(scope, id, { algorithm: "ECDSA", ecdsaCurve: "P256" })
    : new PrivateKey(scope, id, { algorithm: "RSA", rsaBits: 2048 });
}

/** A self-signed CA whose key lives in Terraform state (see README: who may read state). */
export class TlsCertificateAuthority extends Construct {
  readonly key: PrivateKey;
  readonly cert: SelfSignedCert;
  readonly algorithm: KeyAlgorithm;

  constructor(scope: Construct, id: string, props: TlsCertificateAuthorityProps) {
    super(scope, id);
    if (!props.commonName.trim()) throw new Error(`TlsCertificateAuthority ${id}: commonName is empty`);
    const validityHours = props.validityHours ?? TEN_YEARS_HOURS;
    if (!Number.isInteger(validityHours) || validityHours < 24) {
      throw new Error(`TlsCertificateAuthority ${id}: validityHours ${validityHours} must be a whole number of at least 24`);
    }
    this.algorithm = props.algorithm ?? "ECDSA";
    this.key = privateKeyFor(this, "key", this.algorithm);
    this.cert = new SelfSignedCert(this, "cert", {
      privateKeyPem: this.key.privateKeyPem,
      isCaCertificate: true,
      setSubjectKeyId: true,
      validityPeriodHours: validityHours,
      allowedUses: ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
      subject: [{ commonName: props.commonName, ...(props.organization ? { organization: props.organization } : {}) }],
    });
  }

  get certPem(): string {
    return this.cert.certPem;
  }

  get keyPem(): string {
    return this.key.privateKeyPem;
  }
}
