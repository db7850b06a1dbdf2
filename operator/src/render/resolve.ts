import type { JobConfig, MildnetJob } from '../api/types';
import { resolveJobConfig, type PresetCatalog } from '../config/presets';

/** Operator settings that rendering depends on. */
export interface RenderSettings {
  /** Trainer image used when spec.image is unset. */
  trainerImage: string;
  /** spec.resources.gpuType → node selector added to the pod. */
  gpuNodeSelectors: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Port the trainer serves /progress and /metrics on. Default 9090. */
  metricsPort?: number;
}

/** Config, image and node selector resolved from a spec, before any object is rendered. */
export interface ResolvedSpec {
  config: JobConfig;
  image: string;
  nodeSelector: Record<string, string>;
}

/**
 * Resolves the preset, config overrides, image and GPU type of a MildnetJob.
 * Throws a RangeError naming the field when the spec cannot run; the
 * reconciler marks such a MildnetJob Failed with reason InvalidSpec instead of retrying.
 */
export function resolveSpec(mj: MildnetJob, catalog: PresetCatalog, settings: RenderSettings): ResolvedSpec {
  const config = resolveJobConfig(catalog, mj.spec.preset, mj.spec.config);

  const nodeSelector: Record<string, string> = { ...(mj.spec.nodeSelector ?? {}) };
  const gpuType = mj.spec.resources?.gpuType;
  if (gpuType !== undefined) {
    const selector = settings.gpuNodeSelectors[gpuType];
    if (!selector) {
      const known = Object.keys(settings.gpuNodeSelectors);
      throw new RangeError(
        `spec.resources.gpuType "${gpuType}" is not configured in the operator; ` +
          (known.length > 0 ? `use one of: ${known.join(', ')}` : 'the operator has no GPU types configured, so remove the field'),
      );
    }
    Object.assign(nodeSelector, selector);
  }

  return { config, image: mj.spec.image ?? settings.trainerImage, nodeSelector };
}
