/**
 * Types of the parts of jsfive 0.4 (a pure JavaScript HDF5 reader) that
 * keras-h5.ts uses. jsfive ships no type declarations. Its methods throw
 * strings, not Error objects, on a missing link or a malformed file.
 */
declare module 'jsfive' {
  export type AttributeValue = string | number | bigint | Array<string | number | bigint>;

  export class Group {
    readonly name: string;
    /** Names of the links in this group. */
    readonly keys: string[];
    readonly attrs: Record<string, AttributeValue>;
    /** Returns the group or dataset at a path relative to this group. */
    get(path: string): Group | Dataset;
  }

  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename?: string);
  }

  export class Dataset {
    readonly name: string;
    readonly shape: number[];
    /** NumPy-style type string, such as `<f4`. */
    readonly dtype: string | object;
    readonly attrs: Record<string, AttributeValue>;
    /** The values in row-major order. */
    readonly value: ArrayLike<number>;
  }
}
