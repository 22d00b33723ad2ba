// The certificates of a throw-away control plane, made with the openssl CLI: one CA, the
// apiserver's serving certificate, one client certificate per component identity (so RBAC sees
// system:kube-controller-manager, system:kube-scheduler and an admin in system:masters), and the
// service-account signing key pair. P-256 keys: generating them takes milliseconds, RSA does not.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Identity {
  /** The user name the apiserver sees (certificate CN). */
  user: string;
  /** Groups (certificate O entries). */
  groups: string[];
}

export interface CertPair {
  cert: string;
  key: string;
}

export interface Pki {
  caCert: string;
  caKey: string;
  serving: CertPair;
  serviceAccountKey: string;
  serviceAccountPub: string;
  clients: Record<string, CertPair>;
}

const DAYS = '30';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(path: string, dir: string): void {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path], dir);
}

function sign(dir: string, name: string, subject: string, extensions: string, ca: { cert: string; key: string }): CertPair {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  newKey(key, dir);
  writeFileSync(ext, extensions);
  openssl(['req', '-new', '-key', key, '-subj', subject, '-out', csr], dir);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', DAYS, '-sha256', '-extfile', ext, '-out', cert], dir);
  return { cert, key };
}

function subjectOf(id: Identity): string {
  return id.groups.map((g) => `/O=${g}`).join('') + `/CN=${id.user}`;
}

export function createPki(dir: string, identities: Record<string, Identity>, servingIPs: string[] = []): Pki {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  newKey(caKey, dir);
  openssl(
    ['req', '-x509', '-new', '-key', caKey, '-subj', '/CN=autorun-test-ca', '-days', DAYS, '-sha256',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature', '-out', caCert],
    dir,
  );
  const ca = { cert: caCert, key: caKey };
  // The in-cluster names matter only to Pods that would call the apiserver through its Service;
  // servingIPs (the real node's bridge address) is where Pods on the real node reach it.
  const extra = servingIPs.map((ip) => `,IP:${ip}`).join('');
  const serving = sign(dir, 'apiserver', '/CN=kube-apiserver',
    'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' +
    `subjectAltName=IP:127.0.0.1,IP:10.96.0.1${extra},DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n`, ca);
  const clients: Record<string, CertPair> = {};
  for (const [name, id] of Object.entries(identities)) {
    clients[name] = sign(dir, `client-${name}`, subjectOf(id),
      'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n', ca);
  }
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  newKey(serviceAccountKey, dir);
  openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub], dir);
  return { caCert, caKey, serving, serviceAccountKey, serviceAccountPub, clients };
}
