/**
 * The deployment files hold together: the Dockerfile, deploy/compose.yaml, the kustomize tree in
 * deploy/k8s/ and the Terraform in deploy/terraform/. Each is parsed and cross-checked here (labels
 * against selectors, references against what exists, every Terraform variable declared). Then the real
 * tools: `kubectl kustomize` renders the tree offline (Debian's `kubernetes-client` is installed when
 * kubectl is missing), and `terraform fmt -check` runs where terraform is installed (Debian has no
 * package for it; the HCL parse above covers syntax everywhere).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { aptInstall, which } from '../support/services.js';

// Loaded untyped: the package's .d.ts references the DOM lib, whose stream types clash with Node's.
const { parse: parseHcl } = createRequire(import.meta.url)('@cdktf/hcl2json') as { parse(file: string, text: string): Promise<Record<string, unknown>> };

const ROOT = process.cwd();
const K8S = join(ROOT, 'deploy', 'k8s');
const TF = join(ROOT, 'deploy', 'terraform');

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any; data?: any; stringData?: any };

function k8sDocs(): Map<string, Doc[]> {
  const out = new Map<string, Doc[]>();
  for (const f of readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    out.set(f, parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((d) => d.toJS() as Doc));
  }
  return out;
}

function subset(labels: Record<string, string>, of: Record<string, string> | undefined): boolean {
  return Object.entries(labels).every(([k, v]) => of?.[k] === v);
}

describe('Dockerfile', () => {
  it('builds in stages, runs as a non-root user and checks /health/live', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/^FROM .* AS build$/m);
    expect(text).toMatch(/^USER (node|\d+)/m);
    expect(text).toMatch(/^HEALTHCHECK .*\/health\/live/m);
  });

  it("probes the port the process serves: PORT, or a worker's SEXTANT_METRICS_PORT", () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const script = /^HEALTHCHECK .* CMD node -e "(.*)"$/m.exec(text)?.[1];
    expect(script).toBeDefined();
    // The check's URL expression, evaluated for each role (fetch replaced by a recorder).
    const urlFor = (env: Record<string, string>): string => {
      let url = '';
      const fakeFetch = (u: string) => {
        url = u;
        return { then: () => ({ catch: () => undefined }) };
      };
      new Function('process', 'fetch', script as string)({ env, exit: () => undefined }, fakeFetch);
      return url;
    };
    expect(urlFor({ SEXTANT_ROLE: 'api', PORT: '4000', SEXTANT_METRICS_PORT: '9464' })).toBe('http://127.0.0.1:4000/health/live');
    expect(urlFor({ SEXTANT_ROLE: 'worker', PORT: '4000', SEXTANT_METRICS_PORT: '9464' })).toBe('http://127.0.0.1:9464/health/live');
    expect(urlFor({})).toBe('http://127.0.0.1:4000/health/live');
  });
});

describe('deploy/compose.yaml', () => {
  it('runs 2 api and 2 worker processes on one PostgreSQL, Redis and MinIO with one signing secret', () => {
    const compose = parse(readFileSync(join(ROOT, 'deploy', 'compose.yaml'), 'utf8'), { merge: true }) as { services: Record<string, any> };
    const services = compose.services;
    for (const s of ['postgres', 'redis', 'minio']) expect(services[s], s).toBeDefined();
    const byRole = (role: string) => Object.entries(services).filter(([, s]) => s.environment?.SEXTANT_ROLE === role);
    expect(byRole('api')).toHaveLength(2);
    expect(byRole('worker')).toHaveLength(2);
    const sextant = [...byRole('api'), ...byRole('worker')].map(([, s]) => s);
    const secrets = new Set(sextant.map((s) => s.environment.SEXTANT_SIGNING_SECRET));
    expect(secrets.size).toBe(1);
    expect([...secrets][0]).toBeTruthy();
    for (const s of sextant) {
      expect(s.environment.SEXTANT_REDIS_URL).toBe('redis://redis:6379');
      expect(s.environment.SEXTANT_WAREHOUSE).toMatch(/^postgres:\/\/.*@postgres:5432\//);
      expect(s.environment.SEXTANT_OBJECT_STORE).toMatch(/^s3:\/\//);
      expect(s.environment.AWS_ENDPOINT_URL).toBe('http://minio:9000');
      for (const dep of Object.keys(s.depends_on)) expect(services[dep], dep).toBeDefined();
    }
    // Workers serve /metrics and /health/* on SEXTANT_METRICS_PORT, where the image's HEALTHCHECK probes them.
    for (const [name, s] of byRole('worker')) {
      expect(s.environment.SEXTANT_METRICS_PORT, name).toMatch(/^\d+$/);
      expect(s.healthcheck?.disable, name).toBeUndefined();
    }
  });
});

describe('deploy/k8s', () => {
  it('lists every manifest in the kustomization, and its labels, selectors and references agree', () => {
    const kustomization = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[]; namespace: string };
    const docs = k8sDocs();
    expect([...kustomization.resources].sort()).toEqual([...docs.keys()].sort());
    const all = [...docs.values()].flat();
    const find = (kind: string, name: string) => all.find((d) => d.kind === kind && d.metadata.name === name);
    const kinds = all.map((d) => d.kind).sort();
    expect(kinds).toEqual(['ConfigMap', 'Deployment', 'Deployment', 'HorizontalPodAutoscaler', 'Namespace', 'PodDisruptionBudget', 'PodDisruptionBudget', 'Secret', 'Service']);

    const deployments = all.filter((d) => d.kind === 'Deployment');
    const roles = new Map<string, Doc>();
    for (const d of deployments) {
      const template = d.spec.template;
      expect(subset(d.spec.selector.matchLabels, template.metadata.labels), d.metadata.name).toBe(true);
      expect(template.spec.securityContext.runAsNonRoot).toBe(true);
      const [container] = template.spec.containers;
      const role = container.env.find((e: { name: string }) => e.name === 'SEXTANT_ROLE')?.value;
      roles.set(role, d);
      // Graceful shutdown (docs/deploy.md) ends before the kubelet's SIGKILL: delay + timeout < grace period.
      const envMs = (name: string, fallback: number) => Number(container.env.find((e: { name: string }) => e.name === name)?.value ?? fallback);
      expect(envMs('SEXTANT_SHUTDOWN_DELAY_MS', 0) + envMs('SEXTANT_SHUTDOWN_TIMEOUT_MS', 25_000), role).toBeLessThan(template.spec.terminationGracePeriodSeconds * 1000);
      // Config and secrets come from objects of this kustomization.
      for (const from of container.envFrom) {
        if (from.configMapRef) expect(find('ConfigMap', from.configMapRef.name), from.configMapRef.name).toBeDefined();
        if (from.secretRef) expect(find('Secret', from.secretRef.name), from.secretRef.name).toBeDefined();
      }
    }
    expect([...roles.keys()].sort()).toEqual(['api', 'worker']);
    const api = roles.get('api') as Doc;
    const apiContainer = api.spec.template.spec.containers[0];
    expect(apiContainer.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(apiContainer.livenessProbe.httpGet.path).toBe('/health/live');
    // A worker's probes and scrape target are on SEXTANT_METRICS_PORT, its only HTTP port.
    const workerContainer = (roles.get('worker') as Doc).spec.template.spec.containers[0];
    const metricsPort = Number(workerContainer.env.find((e: { name: string }) => e.name === 'SEXTANT_METRICS_PORT')?.value);
    const named = workerContainer.ports.find((p: { name: string }) => p.name === workerContainer.readinessProbe.httpGet.port);
    expect(named?.containerPort).toBe(metricsPort);
    expect(workerContainer.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(workerContainer.livenessProbe.httpGet).toEqual({ path: '/health/live', port: workerContainer.readinessProbe.httpGet.port });
    expect(Number((roles.get('worker') as Doc).spec.template.metadata.annotations['prometheus.io/port'])).toBe(metricsPort);

    const service = all.find((d) => d.kind === 'Service') as Doc;
    expect(subset(service.spec.selector, api.spec.template.metadata.labels)).toBe(true);
    expect(subset(service.spec.selector, (roles.get('worker') as Doc).spec.template.metadata.labels)).toBe(false);
    const port = apiContainer.ports.find((p: { name: string }) => p.name === service.spec.ports[0].targetPort);
    expect(port?.containerPort).toBe(4000);

    const hpa = all.find((d) => d.kind === 'HorizontalPodAutoscaler') as Doc;
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: api.metadata.name });
    expect(hpa.spec.minReplicas).toBeGreaterThanOrEqual(2);

    // Each PodDisruptionBudget selects exactly one Deployment's pods.
    for (const pdb of all.filter((d) => d.kind === 'PodDisruptionBudget')) {
      const selected = deployments.filter((d) => subset(pdb.spec.selector.matchLabels, d.spec.template.metadata.labels));
      expect(selected, pdb.metadata.name).toHaveLength(1);
    }
    // One signing secret for every process: both Deployments read the same Secret.
    const secret = find('Secret', 'sextant-secrets') as Doc;
    expect(secret.stringData.SEXTANT_SIGNING_SECRET).toBeTruthy();
  });

  it('renders with kubectl kustomize', () => {
    if (!which('kubectl')) aptInstall('kubernetes-client');
    const out = execFileSync('kubectl', ['kustomize', K8S], { encoding: 'utf8' });
    const docs = parseAllDocuments(out).map((d) => d.toJS() as Doc);
    expect(docs).toHaveLength(9);
    for (const d of docs) {
      expect(d.metadata.labels?.['app.kubernetes.io/part-of'], `${d.kind}/${d.metadata.name}`).toBe('sextant');
      if (d.kind !== 'Namespace') expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe('sextant');
    }
    const images = docs.filter((d) => d.kind === 'Deployment').map((d) => d.spec.template.spec.containers[0].image);
    expect(images).toEqual(['ghcr.io/example/sextant:0.1.0', 'ghcr.io/example/sextant:0.1.0']);
  }, 600_000);
});

describe('deploy/terraform', () => {
  const files = readdirSync(TF).filter((f) => f.endsWith('.tf'));

  async function config(): Promise<Record<string, any>> {
    const merged: Record<string, any> = {};
    for (const f of files) {
      const parsed = (await parseHcl(f, readFileSync(join(TF, f), 'utf8'))) as Record<string, any>;
      for (const [block, body] of Object.entries(parsed)) {
        merged[block] ??= {};
        for (const [type, named] of Object.entries(body as Record<string, any>)) merged[block][type] = { ...merged[block][type], ...named };
      }
    }
    return merged;
  }

  it('parses, declares every variable it uses, and has the parts a deployment needs', async () => {
    const tf = await config();
    const resources = tf.resource as Record<string, Record<string, any[]>>;
    for (const type of [
      'aws_s3_bucket',
      'aws_s3_bucket_lifecycle_configuration',
      'aws_elasticache_replication_group',
      'aws_redshiftserverless_namespace',
      'aws_redshiftserverless_workgroup',
      'aws_iam_role',
      'aws_ecs_cluster',
      'aws_ecs_task_definition',
      'aws_ecs_service',
    ]) {
      expect(resources[type], type).toBeDefined();
    }
    // Raw inputs have a lifecycle rule; staged loads expire.
    const rules = resources.aws_s3_bucket_lifecycle_configuration.data[0].rule as Array<{ filter: Array<{ prefix: string }>; status: string }>;
    expect(rules.map((r) => r.filter[0].prefix).sort()).toEqual(['_staging/', 'raw/']);
    for (const r of rules) expect(r.status).toBe('Enabled');
    // The COPY/UNLOAD role is attached to the Redshift namespace and handed to the tasks.
    expect(resources.aws_redshiftserverless_namespace.warehouse[0].iam_roles).toEqual(['${aws_iam_role.redshift_copy.arn}']);
    const ecsText = readFileSync(join(TF, 'ecs.tf'), 'utf8');
    expect(ecsText).toContain('{ name = "SEXTANT_REDSHIFT_IAM_ROLE", value = aws_iam_role.redshift_copy.arn }');
    expect(ecsText).toContain('{ name = "SEXTANT_SIGNING_SECRET", valueFrom = var.signing_secret_arn }');
    // Workers get SEXTANT_METRICS_PORT and a health check on it; the security group lets a scraper in.
    expect(ecsText).toMatch(/name = "SEXTANT_METRICS_PORT", value = tostring\(each\.value\.port\)/);
    expect(ecsText).toContain("fetch('http://127.0.0.1:${each.value.port}/health/live')");
    const ingressPorts = (resources.aws_security_group.tasks[0].ingress as Array<{ from_port: number }>).map((r) => r.from_port).sort();
    expect(ingressPorts).toEqual([4000, 9464]);

    const declared = new Set(Object.keys(tf.variable));
    const used = new Set<string>();
    for (const f of files) for (const m of readFileSync(join(TF, f), 'utf8').matchAll(/\bvar\.([a-z_][a-z0-9_]*)/g)) used.add(m[1]);
    expect([...used].filter((v) => !declared.has(v))).toEqual([]);
    expect([...declared].filter((v) => !used.has(v))).toEqual([]);
  });

  it('rejects broken HCL (the parse check can fail)', async () => {
    await expect(parseHcl('broken.tf', 'resource "aws_s3_bucket" "x" {\n  bucket = \n')).rejects.toThrow();
  });

  it('is formatted (terraform fmt -check, where terraform is installed)', () => {
    const terraform = which('terraform');
    if (!terraform) {
      // No Debian package provides terraform; the parse above is what runs without it.
      expect(files.length).toBeGreaterThan(5);
      return;
    }
    execFileSync(terraform, ['fmt', '-check', '-diff', '-recursive', TF], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  });
});
