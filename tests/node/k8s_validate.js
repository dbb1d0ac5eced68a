// k8s_validate.js MANIFEST OUTDIR: schema-check every document of a
// Kubernetes manifest with kubernetes-models (the API's OpenAPI schemas),
// check what the distributed run relies on, and write the ConfigMap's files
// into OUTDIR (so the test can run `stampede validate` on the scenario).
// Prints "ok N documents" or throws.
'use strict';
const fs = require('fs');
const path = require('path');
const YAML = require('yaml');

// kubernetes-models is ESM only: imported dynamically from this CJS script
const models = {
  'v1/ConfigMap': async () => (await import('kubernetes-models/v1/ConfigMap')).ConfigMap,
  'v1/PersistentVolumeClaim': async () =>
    (await import('kubernetes-models/v1/PersistentVolumeClaim')).PersistentVolumeClaim,
  'batch/v1/Job': async () => (await import('kubernetes-models/batch/v1/Job')).Job,
};

const [manifest, outdir] = process.argv.slice(2);

async function main() {
  const docs = YAML.parseAllDocuments(fs.readFileSync(manifest, 'utf8'));
  const byKind = {};
  for (const d of docs) {
    if (d.errors.length) throw new Error(`${manifest}: ${d.errors[0].message}`);
    const obj = d.toJS();
    const key = `${obj.apiVersion}/${obj.kind}`;
    if (!models[key]) throw new Error(`${manifest}: unexpected ${key}`);
    const Model = await models[key]();
    new Model(obj).validate(); // throws with the schema path on a violation
    byKind[obj.kind] = obj;
  }

  const assert = (c, m) => { if (!c) throw new Error(`${manifest}: ${m}`); };
  const job = byKind.Job, cm = byKind.ConfigMap, pvc = byKind.PersistentVolumeClaim;
  assert(job && cm && pvc, 'needs a Job, a ConfigMap and a PersistentVolumeClaim');
  const spec = job.spec, pod = spec.template.spec, c = pod.containers[0];
  const env = Object.fromEntries(c.env.map(e => [e.name, e]));
  assert(spec.completionMode === 'Indexed', 'the Job must be Indexed');
  assert(spec.completions === spec.parallelism, 'completions != parallelism: shards would not run together');
  assert(String(spec.completions) === env.SHARDS.value, 'SHARDS != completions');
  assert(env.SHARD.valueFrom.fieldRef.fieldPath.includes('job-completion-index'), 'SHARD from the completion index');
  assert(env.SHARD_BASE.value === '0', 'completion indexes are 0-based');
  assert(spec.backoffLimit === 0, 'a failed verdict must not be retried');
  assert(pod.restartPolicy === 'Never', 'restartPolicy Never');
  assert(c.command[0] === 'stampede-shard', 'runs tools/distributed/stampede-shard');
  assert(pvc.spec.accessModes.includes('ReadWriteMany'), 'results volume shared by every pod');
  const vols = Object.fromEntries(pod.volumes.map(v => [v.name, v]));
  const mounts = Object.fromEntries(c.volumeMounts.map(m => [m.mountPath, m.name]));
  assert(vols[mounts['/scenario']].configMap.name === cm.metadata.name, 'scenario from the ConfigMap');
  assert(vols[mounts['/results']].persistentVolumeClaim.claimName === pvc.metadata.name, 'results on the claim');
  assert(env.RESULTS.value.startsWith('/results/'), 'RESULTS under the shared volume');
  assert(c.args.includes('/scenario/scenario.yaml'), 'runs the ConfigMap scenario');
  fs.mkdirSync(outdir, { recursive: true });
  for (const [name, text] of Object.entries(cm.data)) fs.writeFileSync(path.join(outdir, name), text);
  console.log(`ok ${docs.length} documents`);
}

main().catch(e => {
  console.error(`k8s_validate: ${e.message}`);
  process.exit(1);
});
