/** API coordinates of the MildnetJob custom resource. */
export const GROUP = 'mildnet.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'MildnetJob';
export const PLURAL = 'mildnetjobs';
export const SINGULAR = 'mildnetjob';
export const SHORT_NAMES = ['mj'];
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** Label on every child object (Job, pods, ConfigMap, Service) naming its MildnetJob. */
export const MILDNETJOB_LABEL = 'mildnet.io/mildnetjob';
/** Label that Kueue reads to queue a Job. */
export const KUEUE_QUEUE_LABEL = 'kueue.x-k8s.io/queue-name';
/** Annotation on the ConfigMap and the pod template: hash of the resolved config. */
export const CONFIG_HASH_ANNOTATION = 'mildnet.io/config-hash';
export const FIELD_MANAGER = 'mildnet-operator';

export const TRAINER_CONTAINER = 'trainer';
export const METRICS_PORT = 9090;
export const METRICS_PORT_NAME = 'metrics';
export const CONFIG_MOUNT_DIR = '/etc/mildnet/config';
export const CONFIG_FILE_NAME = 'config.yaml';
export const GPU_RESOURCE = 'nvidia.com/gpu';

/** Trainer exit codes, fixed by the trainer's command-line contract. */
export const EXIT_FAILURE = 1;
export const EXIT_INVALID_CONFIG = 2;
export const EXIT_INTERRUPTED_RESUMABLE = 75;

/**
 * Longest MildnetJob name. The Service is named `<name>-metrics`, which must
 * be a DNS-1035 label of at most 63 characters.
 */
export const MAX_NAME_LENGTH = 55;
