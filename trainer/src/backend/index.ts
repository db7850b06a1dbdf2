export {
  BACKEND_ENV_VAR,
  BACKEND_NAMES,
  type BackendInfo,
  type BackendLogger,
  type BackendName,
  type SelectBackendArgs,
  selectBackend,
} from './select';
export { registerWasmTrainingKernels, WASM_TRAINING_KERNELS, type WasmKernelRegistration } from './wasm/register';
