import { existsSync, readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import { KubectlError, pinnedKubernetesVersion, startControlPlane, type ControlPlane } from './controlplane';
import { describeWithControlPlane, getJson, waitFor } from './describe-cluster';

jest.setTimeout(180_000);

function get(cluster: ControlPlane, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get(
      `${cluster.server}${urlPath}`,
      { ca: readFileSync(cluster.caCertPath), headers: { Authorization: `Bearer ${cluster.adminToken}` } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    request.on('error', reject);
  });
}

function portIsOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const crd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'widgets.test.mildnet.dev' },
  spec: {
    group: 'test.mildnet.dev',
    names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
    scope: 'Namespaced',
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { type: 'object', required: ['size'], properties: { size: { type: 'integer', minimum: 1 } } } },
          },
        },
        subresources: { status: {} },
      },
    ],
  },
};

describeWithControlPlane('local control plane', () => {
  let cluster: ControlPlane;

  beforeAll(async () => {
    // The last test checks that stop() removes the directory, so it must not be kept.
    cluster = await startControlPlane({ keepTempDir: false });
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  test('apiserver readyz and version', async () => {
    const readyz = await get(cluster, '/readyz');
    expect(readyz.status).toBe(200);
    expect(readyz.body).toBe('ok');

    const version = JSON.parse((await get(cluster, '/version')).body) as { gitVersion: string };
    expect(version.gitVersion).toBe(pinnedKubernetesVersion());
  });

  test('kubeconfig works with kubectl', async () => {
    const namespaces = await getJson<{ items: { metadata: { name: string } }[] }>(cluster, ['namespaces']);
    const names = namespaces.items.map((namespace) => namespace.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['default', 'kube-system', 'kube-node-lease']));
  });

  test('CRD can be created and served', async () => {
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(crd));
    await cluster.kubectl(['wait', '--for=condition=Established', 'crd/widgets.test.mildnet.dev', '--timeout=60s']);

    const widget = { apiVersion: 'test.mildnet.dev/v1', kind: 'Widget', metadata: { name: 'first' }, spec: { size: 3 } };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(widget));
    const stored = await getJson<{ spec: { size: number } }>(cluster, ['widgets.test.mildnet.dev', 'first']);
    expect(stored.spec.size).toBe(3);

    const invalid = { ...widget, metadata: { name: 'invalid' }, spec: { size: 0 } };
    await expect(cluster.kubectl(['apply', '-f', '-'], JSON.stringify(invalid))).rejects.toThrow(/spec.size/);
  });

  test('RBAC denies a service account until a Role is bound', async () => {
    await cluster.kubectl(['create', 'serviceaccount', 'reader']);
    const canList = (): Promise<string> =>
      cluster
        .kubectl(['auth', 'can-i', 'list', 'pods', '--as=system:serviceaccount:default:reader'])
        .then((out) => out.trim())
        // can-i prints "no" and exits 1 when the request is denied.
        .catch((error: unknown) => (error instanceof KubectlError && error.exitCode === 1 ? error.stdout.trim() : Promise.reject(error)));
    expect(await canList()).toBe('no');

    await cluster.kubectl(['create', 'role', 'pod-reader', '--verb=list', '--resource=pods']);
    await cluster.kubectl(['create', 'rolebinding', 'reader-pods', '--role=pod-reader', '--serviceaccount=default:reader']);
    expect(await waitFor('RBAC to allow listing pods', async () => ((await canList()) === 'yes' ? true : undefined), 10_000)).toBe(true);
  });

  test('controller manager runs the garbage collector', async () => {
    await cluster.kubectl(['create', 'configmap', 'owner']);
    const owner = await getJson<{ metadata: { uid: string } }>(cluster, ['configmap', 'owner']);
    const dependent = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'dependent', ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata.uid }] },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(dependent));
    await cluster.kubectl(['delete', 'configmap', 'owner']);

    await waitFor('the dependent ConfigMap to be garbage-collected', async () => {
      const out = await cluster.kubectl(['get', 'configmap', 'dependent', '--ignore-not-found', '-o', 'name']);
      return out.trim() === '' ? true : undefined;
    });
  });

  test('stop ends every component and removes the directory', async () => {
    const port = Number(new URL(cluster.server).port);
    expect(await portIsOpen(port)).toBe(true);

    await cluster.stop();

    expect(await portIsOpen(port)).toBe(false);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
