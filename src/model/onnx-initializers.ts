/**
 * Reads and rewrites the top-level graph initializers of a serialized ONNX ModelProto (and lists
 * its node op types), touching nothing else: every byte outside the replaced TensorProtos is copied through unchanged (only the
 * graph's length prefix changes with them). Pure and browser-safe.
 *
 * Hand-written rather than protobufjs + onnx.proto: it needs nine fields (ModelProto.graph = 7,
 * GraphProto.initializer = 5, TensorProto dims = 1, data_type = 2, float_data = 4, name = 8,
 * raw_data = 9, external_data = 13, data_location = 14), and a generic decode → encode round trip
 * would re-serialize (and could reorder or normalize) the whole model instead of splicing bytes.
 */

export class OnnxFormatError extends Error {
  readonly code = 'invalid-onnx';
  constructor(message: string) {
    super(message);
    this.name = 'OnnxFormatError';
  }
}

/** TensorProto.DataType values read here. */
export const TENSOR_FLOAT = 1;
export const TENSOR_FLOAT16 = 10;

/** One top-level initializer, as stored. Views alias the model bytes: copy before mutating them. */
export interface InitializerView {
  name: string;
  dataType: number;
  dims: number[];
  /** raw_data (little-endian), or null when absent. */
  rawData: Uint8Array | null;
  /** float_data (field 4), or null when absent. */
  floatData: Float32Array | null;
  /** data_location = EXTERNAL, or external_data entries present: the values are in another file. */
  external: boolean;
  /** Byte range of the whole initializer field (tag, length and TensorProto) in the model. */
  fieldStart: number;
  fieldEnd: number;
}

export interface TensorReplacement {
  dims: number[];
  /** Little-endian values in the tensor's own data type (which is kept). */
  rawData: Uint8Array;
}

/** TensorProto fields that hold values: float_data, int32_data, int64_data, raw_data, double_data, uint64_data. */
const VALUE_FIELDS = new Set([4, 5, 7, 9, 10, 11]);

const WIRE_VARINT = 0,
  WIRE_FIXED64 = 1,
  WIRE_BYTES = 2,
  WIRE_FIXED32 = 5;

interface Field {
  number: number;
  wireType: number;
  /** Where the field starts (its tag) and ends. */
  start: number;
  end: number;
  /** Varint value (wire type 0). */
  value: number;
  /** Payload range (wire type 2). */
  payloadStart: number;
  payloadEnd: number;
}

/** Varint at `offset`; values past 2^53 lose precision, which only matters to fields never read as numbers. */
function readVarint(bytes: Uint8Array, offset: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < bytes.length && i < offset + 10; i++) {
    const byte = bytes[i];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, i + 1];
    scale *= 128;
  }
  throw new OnnxFormatError(`Malformed varint at byte ${offset}.`);
}

/** The fields of the message in bytes[start, end). */
function* fields(bytes: Uint8Array, start: number, end: number): Generator<Field> {
  let offset = start;
  while (offset < end) {
    const fieldStart = offset;
    const [tag, afterTag] = readVarint(bytes, offset);
    const number = Math.floor(tag / 8);
    const wireType = tag % 8;
    let value = 0,
      payloadStart = afterTag,
      payloadEnd = afterTag;
    switch (wireType) {
      case WIRE_VARINT:
        [value, offset] = readVarint(bytes, afterTag);
        break;
      case WIRE_FIXED64:
        offset = afterTag + 8;
        break;
      case WIRE_FIXED32:
        offset = afterTag + 4;
        break;
      case WIRE_BYTES: {
        const [length, afterLength] = readVarint(bytes, afterTag);
        payloadStart = afterLength;
        payloadEnd = offset = afterLength + length;
        break;
      }
      default:
        throw new OnnxFormatError(`Unsupported protobuf wire type ${wireType} at byte ${fieldStart}.`);
    }
    if (number === 0 || offset > end) throw new OnnxFormatError(`Truncated or malformed protobuf field at byte ${fieldStart}.`);
    yield { number, wireType, start: fieldStart, end: offset, value, payloadStart, payloadEnd };
  }
}

/** The ModelProto.graph field (there must be exactly one). */
function graphField(model: Uint8Array): Field {
  let graph: Field | null = null;
  for (const field of fields(model, 0, model.length)) {
    if (field.number !== 7) continue;
    if (field.wireType !== WIRE_BYTES || graph) throw new OnnxFormatError('ModelProto.graph is malformed or repeated.');
    graph = field;
  }
  if (!graph) throw new OnnxFormatError('Not an ONNX model: ModelProto.graph is missing.');
  return graph;
}

/** Little-endian float32s, copied so the result is aligned whatever the source offset. */
function float32sOf(bytes: Uint8Array, start: number, end: number): Float32Array {
  const copy = new Uint8Array(bytes.subarray(start, end)); // a copy even for a Node Buffer
  if (copy.length % 4 !== 0) throw new OnnxFormatError('float_data payload is not a whole number of floats.');
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

function readTensor(model: Uint8Array, field: Field): InitializerView {
  const view: InitializerView = {
    name: '',
    dataType: 0,
    dims: [],
    rawData: null,
    floatData: null,
    external: false,
    fieldStart: field.start,
    fieldEnd: field.end,
  };
  const floats: Float32Array[] = [];
  for (const f of fields(model, field.payloadStart, field.payloadEnd)) {
    if (f.number === 1) {
      // repeated int64 dims: unpacked (one varint per field) or packed (one length-delimited run).
      if (f.wireType === WIRE_VARINT) view.dims.push(f.value);
      else if (f.wireType === WIRE_BYTES) {
        for (let o = f.payloadStart; o < f.payloadEnd;) {
          const [d, next] = readVarint(model, o);
          view.dims.push(d);
          o = next;
        }
      }
    } else if (f.number === 2 && f.wireType === WIRE_VARINT) view.dataType = f.value;
    else if (f.number === 4) {
      if (f.wireType === WIRE_FIXED32) floats.push(float32sOf(model, f.end - 4, f.end));
      else if (f.wireType === WIRE_BYTES) floats.push(float32sOf(model, f.payloadStart, f.payloadEnd));
    } else if (f.number === 8 && f.wireType === WIRE_BYTES) view.name = new TextDecoder().decode(model.subarray(f.payloadStart, f.payloadEnd));
    else if (f.number === 9 && f.wireType === WIRE_BYTES) view.rawData = model.subarray(f.payloadStart, f.payloadEnd);
    else if (f.number === 13) view.external = true;
    else if (f.number === 14 && f.wireType === WIRE_VARINT && f.value === 1) view.external = true;
  }
  if (floats.length) view.floatData = new Float32Array(concat(floats.map((f) => new Uint8Array(f.buffer, f.byteOffset, f.byteLength))).buffer);
  return view;
}

/** Where the ModelProto.graph field (tag and length) and its GraphProto payload are in the model. */
export function graphRange(model: Uint8Array): { fieldStart: number; payloadStart: number; payloadEnd: number } {
  const graph = graphField(model);
  return { fieldStart: graph.start, payloadStart: graph.payloadStart, payloadEnd: graph.payloadEnd };
}

/** The op types of the main graph's nodes (GraphProto.node = 1, NodeProto.op_type = 4), e.g. to tell GroupQueryAttention graphs apart. */
export function readNodeOpTypes(model: Uint8Array): Set<string> {
  const graph = graphField(model);
  const out = new Set<string>();
  for (const field of fields(model, graph.payloadStart, graph.payloadEnd)) {
    if (field.number !== 1 || field.wireType !== WIRE_BYTES) continue;
    for (const f of fields(model, field.payloadStart, field.payloadEnd)) {
      if (f.number === 4 && f.wireType === WIRE_BYTES) out.add(new TextDecoder().decode(model.subarray(f.payloadStart, f.payloadEnd)));
    }
  }
  return out;
}

/** Every initializer of the main graph (not of subgraphs), in file order. */
export function readInitializers(model: Uint8Array): InitializerView[] {
  const graph = graphField(model);
  const out: InitializerView[] = [];
  for (const field of fields(model, graph.payloadStart, graph.payloadEnd)) {
    if (field.number === 5 && field.wireType === WIRE_BYTES) out.push(readTensor(model, field));
  }
  return out;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * The initializer field re-encoded in its own field order: the new dims where the first dims
 * field was, the new raw_data where the first value field (float/int32/int64/double/uint64_data or
 * raw_data) was, every other field (data_type, name, doc_string, ...) copied as is.
 */
function encodeReplacement(model: Uint8Array, field: Field, replacement: TensorReplacement): Uint8Array {
  const dims = concat(replacement.dims.map((d) => Uint8Array.from([0x08, ...varintBytes(d)]))); // field 1, varint each
  const data = concat([Uint8Array.from([0x4a, ...varintBytes(replacement.rawData.length)]), replacement.rawData]); // field 9
  const parts: Uint8Array[] = [];
  let dimsWritten = false;
  let dataWritten = false;
  for (const f of fields(model, field.payloadStart, field.payloadEnd)) {
    if (f.number === 1) {
      if (!dimsWritten) parts.push(dims);
      dimsWritten = true;
    } else if (VALUE_FIELDS.has(f.number)) {
      if (!dataWritten) parts.push(data);
      dataWritten = true;
    } else parts.push(model.subarray(f.start, f.end));
  }
  if (!dimsWritten) parts.unshift(dims); // a scalar had no dims field
  if (!dataWritten) parts.push(data);
  const tensor = concat(parts);
  return concat([Uint8Array.from([0x2a, ...varintBytes(tensor.length)]), tensor]); // GraphProto field 5
}

/**
 * The model with the named initializers' dims and values replaced (data type, name and any other
 * field kept). Throws when a named initializer is missing or stored externally.
 */
export function replaceInitializers(model: Uint8Array, replacements: ReadonlyMap<string, TensorReplacement>): Uint8Array {
  const graph = graphField(model);
  const pending = new Set(replacements.keys());
  const graphParts: Uint8Array[] = [];
  let copiedUpTo = graph.payloadStart;
  for (const field of fields(model, graph.payloadStart, graph.payloadEnd)) {
    if (field.number !== 5 || field.wireType !== WIRE_BYTES) continue;
    const tensor = readTensor(model, field);
    const replacement = replacements.get(tensor.name);
    if (!replacement || !pending.has(tensor.name)) continue;
    if (tensor.external) throw new OnnxFormatError(`Initializer ${tensor.name} is stored in external data and cannot be replaced in place.`);
    pending.delete(tensor.name);
    graphParts.push(model.subarray(copiedUpTo, field.start), encodeReplacement(model, field, replacement));
    copiedUpTo = field.end;
  }
  if (pending.size) throw new OnnxFormatError(`Initializer(s) ${[...pending].join(', ')} not found in the graph.`);
  graphParts.push(model.subarray(copiedUpTo, graph.payloadEnd));
  const graphPayload = concat(graphParts);
  return concat([
    model.subarray(0, graph.start),
    Uint8Array.from([0x3a, ...varintBytes(graphPayload.length)]), // ModelProto field 7
    graphPayload,
    model.subarray(graph.end),
  ]);
}
