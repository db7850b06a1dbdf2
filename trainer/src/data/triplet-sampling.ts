/**
 * Triplets from a labelled image set. The query is drawn uniformly from the
 * images and the positive is another image of the query's class. For the
 * negative, a class other than the query's is drawn uniformly, then an image
 * uniformly within it.
 */
import type { Random } from './random';

export interface LabelledImage {
  /** Path written to the triplet CSV, relative to the image root. */
  path: string;
  label: number;
}

export interface SampledTriplet {
  query: LabelledImage;
  positive: LabelledImage;
  negative: LabelledImage;
}

/** Draws `count` triplets; the output depends only on the input order and the generator state. */
export function sampleTriplets(images: readonly LabelledImage[], count: number, random: Random): SampledTriplet[] {
  const byLabel = new Map<number, LabelledImage[]>();
  const indexInClass = new Map<LabelledImage, number>();
  for (const image of images) {
    let members = byLabel.get(image.label);
    if (members === undefined) {
      members = [];
      byLabel.set(image.label, members);
    }
    indexInClass.set(image, members.length);
    members.push(image);
  }
  const labels = [...byLabel.keys()].sort((a, b) => a - b);
  const queries = images.filter((image) => (byLabel.get(image.label) as LabelledImage[]).length >= 2);
  if (count > 0 && (labels.length < 2 || queries.length === 0)) {
    throw new RangeError(
      `cannot draw triplets from ${images.length} images in ${labels.length} classes: ` +
        'need at least 2 classes and a class with at least 2 images',
    );
  }

  const triplets: SampledTriplet[] = [];
  for (let i = 0; i < count; i++) {
    const query = queries[random.nextInt(queries.length)];
    const sameClass = byLabel.get(query.label) as LabelledImage[];
    // Draw from the class without the query: an index past the query's moves up by one.
    const queryIndex = indexInClass.get(query) as number;
    let positiveIndex = random.nextInt(sameClass.length - 1);
    if (positiveIndex >= queryIndex) {
      positiveIndex++;
    }

    const labelIndex = labels.indexOf(query.label);
    let negativeLabelIndex = random.nextInt(labels.length - 1);
    if (negativeLabelIndex >= labelIndex) {
      negativeLabelIndex++;
    }
    const otherClass = byLabel.get(labels[negativeLabelIndex]) as LabelledImage[];
    const negative = otherClass[random.nextInt(otherClass.length)];

    triplets.push({ query, positive: sameClass[positiveIndex], negative });
  }
  return triplets;
}

/** Quotes a CSV field (RFC 4180) when it contains a comma, quote, line break or edge whitespace. */
export function csvField(value: string): string {
  if (/[",\r\n]/.test(value) || value.trim() !== value) {
    return `"${value.replace(/"/g, '""')}"`;
  }
  return value;
}

/** Formats triplets as CSV lines `query,positive,negative` with LF line ends. */
export function formatTripletCsv(triplets: readonly SampledTriplet[]): string {
  return triplets
    .map((t) => `${csvField(t.query.path)},${csvField(t.positive.path)},${csvField(t.negative.path)}\n`)
    .join('');
}
