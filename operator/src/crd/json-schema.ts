/** A JSON Schema or Kubernetes OpenAPI v3 schema node, loosely typed. */
export type SchemaNode = Record<string, unknown>;

/** maxLength the CRD sets on job-config strings whose schema sets none. */
export const DEFAULT_MAX_STRING_LENGTH = 4096;

export interface ToStructuralArgs {
  /** Drop `default` values; spec.config must not default fields, or defaults would override the preset. */
  dropDefaults: boolean;
  /** Drop `required` at the top level only (the preset may supply those fields). */
  dropTopLevelRequired: boolean;
}

/**
 * Converts a JSON Schema draft-07 node into a Kubernetes structural schema:
 * - numeric exclusiveMinimum/exclusiveMaximum become minimum/maximum with a boolean flag;
 * - $schema, $id, title and additionalProperties: false are dropped, because a
 *   structural schema prunes unknown fields and kubectl rejects them;
 * - strings without maxLength get one, so CEL rules have a bounded cost.
 * Throws a TypeError naming the path for keywords a structural schema cannot express.
 */
export function toStructuralSchema(node: SchemaNode, args: ToStructuralArgs, path = '', depth = 0): SchemaNode {
  const out: SchemaNode = {};
  for (const [keyword, value] of Object.entries(node)) {
    switch (keyword) {
      case '$schema':
      case '$id':
      case 'title':
        break;
      case 'default':
        if (!args.dropDefaults) out.default = value;
        break;
      case 'required':
        if (!(args.dropTopLevelRequired && depth === 0)) out.required = value;
        break;
      case 'additionalProperties':
        if (value !== false) throw new TypeError(`${path || '(root)'}.additionalProperties must be false to convert, got ${JSON.stringify(value)}`);
        break;
      case 'exclusiveMinimum':
        out.minimum = value;
        out.exclusiveMinimum = true;
        break;
      case 'exclusiveMaximum':
        out.maximum = value;
        out.exclusiveMaximum = true;
        break;
      case 'properties': {
        const properties: SchemaNode = {};
        for (const [name, child] of Object.entries(value as Record<string, SchemaNode>)) {
          properties[name] = toStructuralSchema(child, args, `${path}.${name}`, depth + 1);
        }
        out.properties = properties;
        break;
      }
      case 'type':
      case 'description':
      case 'enum':
      case 'minimum':
      case 'maximum':
      case 'minLength':
      case 'maxLength':
      case 'pattern':
      case 'format':
      case 'items':
      case 'minItems':
      case 'maxItems':
        out[keyword] = value;
        break;
      default:
        throw new TypeError(`${path || '(root)'}: JSON Schema keyword "${keyword}" has no conversion to a CRD schema; extend toStructuralSchema`);
    }
  }
  if (out.type === 'string' && out.maxLength === undefined) out.maxLength = stringBound(out.enum);
  return out;
}

/** maxLength for a string: the longest enum value, else the default bound. */
function stringBound(values: unknown): number {
  return Array.isArray(values) ? Math.max(...values.map((v) => String(v).length)) : DEFAULT_MAX_STRING_LENGTH;
}

/** One entry of a @kubernetes/client-node model's attributeTypeMap. */
export interface ModelAttribute {
  name: string;
  baseName: string;
  type: string;
  format: string;
}

/**
 * Bounds put on the embedded core/v1 schemas. CEL estimates a rule's cost
 * from the largest value a schema allows, and the immutability rules compare
 * whole objects, so every list, map and string needs a limit.
 */
export const MODEL_BOUNDS = { maxItems: 16, maxProperties: 16, maxLength: 253 };

/** Returns the attributeTypeMap of a client-node model class, or undefined for an unknown name. */
export type ModelLookup = (typeName: string) => readonly ModelAttribute[] | undefined;

/**
 * Required fields of the core/v1 types embedded in the CRD, from the
 * Kubernetes API reference; client-node's models do not record required-ness.
 */
const REQUIRED_FIELDS: Record<string, string[]> = {
  V1NodeSelector: ['nodeSelectorTerms'],
  V1NodeSelectorRequirement: ['key', 'operator'],
  V1PreferredSchedulingTerm: ['weight', 'preference'],
  V1PodAffinityTerm: ['topologyKey'],
  V1WeightedPodAffinityTerm: ['weight', 'podAffinityTerm'],
  V1LabelSelectorRequirement: ['key', 'operator'],
};

/** Builds an OpenAPI schema for a client-node model (such as V1Affinity) from its attributeTypeMap. */
export function schemaFromModel(typeName: string, lookup: ModelLookup, seen: readonly string[] = []): SchemaNode {
  const array = /^Array<(.+)>$/.exec(typeName);
  if (array) return { type: 'array', maxItems: MODEL_BOUNDS.maxItems, items: schemaFromModel(array[1], lookup, seen) };
  if (/^\{ \[key: string\]: string; \}$/.test(typeName)) {
    return { type: 'object', maxProperties: MODEL_BOUNDS.maxProperties, additionalProperties: { type: 'string', maxLength: MODEL_BOUNDS.maxLength } };
  }
  if (typeName === 'string') return { type: 'string', maxLength: MODEL_BOUNDS.maxLength };
  if (typeName === 'boolean') return { type: 'boolean' };

  const attributes = lookup(typeName);
  if (!attributes) throw new TypeError(`No client-node model named ${typeName}; extend schemaFromModel for this type`);
  if (seen.includes(typeName)) throw new TypeError(`Model ${typeName} refers to itself (${[...seen, typeName].join(' → ')})`);

  const properties: SchemaNode = {};
  for (const attribute of attributes) {
    properties[attribute.baseName] =
      attribute.type === 'number'
        ? { type: attribute.format.startsWith('int') ? 'integer' : 'number', ...(attribute.format ? { format: attribute.format } : {}) }
        : schemaFromModel(attribute.type, lookup, [...seen, typeName]);
  }
  const required = REQUIRED_FIELDS[typeName];
  return { type: 'object', ...(required ? { required } : {}), properties };
}
