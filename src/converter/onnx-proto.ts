/**
 * A minimal protobuf encoder for the subset of onnx.proto the converter writes (ModelProto,
 * GraphProto, NodeProto, AttributeProto, TensorProto with raw or external data, ValueInfoProto).
 * Hand-written on purpose: the converter core must run in a browser worker and stream weights to
 * external data, and protobufjs plus the full ONNX schema would be far larger than these ~150
 * lines. Field numbers follow onnx/onnx.proto.
 */

/** TensorProto.DataType values used by the converter. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7, BOOL: 9, FLOAT16: 10 } as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** Bytes of a protobuf message, built field by field. */
class ProtoWriter {
  private parts: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.parts.push(bytes);
    this.length += bytes.length;
  }

  /** Varint of a (possibly negative) int64: negatives take ten bytes, two's complement. */
  private varint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  int(field: number, value: number | bigint): this {
    this.varint(field << 3);
    this.varint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.varint((field << 3) | 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.push(bytes);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.varint((field << 3) | 2);
    this.varint(value.length);
    this.push(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoWriter): this {
    return this.bytes(field, value.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const part of this.parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }
}

export type Dim = number | string;

export interface ValueInfo {
  name: string;
  elemType: DataType;
  shape: Dim[];
}

export type AttributeValue = number | number[] | string | { float: number } | { tensor: Tensor };

export interface Node {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  domain?: string;
  attributes?: Record<string, AttributeValue>;
}

export interface Tensor {
  name: string;
  dataType: DataType;
  dims: number[];
  /** Inline little-endian bytes, or where they live in an external data file. */
  data: Uint8Array | { location: string; offset: number; length: number };
}

export interface Graph {
  name: string;
  nodes: Node[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Tensor[];
}

export interface Model {
  graph: Graph;
  opsets: { domain: string; version: number }[];
  producerName?: string;
}

function encodeTensor(tensor: Tensor): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of tensor.dims) w.int(1, d);
  w.int(2, tensor.dataType).string(8, tensor.name);
  if (tensor.data instanceof Uint8Array) {
    w.bytes(9, tensor.data);
  } else {
    const entries: [string, string][] = [
      ['location', tensor.data.location],
      ['offset', String(tensor.data.offset)],
      ['length', String(tensor.data.length)],
    ];
    for (const [key, value] of entries) w.message(13, new ProtoWriter().string(1, key).string(2, value));
    w.int(14, 1); // data_location = EXTERNAL
  }
  return w;
}

// AttributeProto.AttributeType
const ATTR_FLOAT = 1,
  ATTR_INT = 2,
  ATTR_STRING = 3,
  ATTR_TENSOR = 4,
  ATTR_INTS = 7;

function encodeAttribute(name: string, value: AttributeValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof value === 'number') return w.int(3, value).int(20, ATTR_INT);
  if (typeof value === 'string') return w.string(4, value).int(20, ATTR_STRING);
  if (Array.isArray(value)) {
    for (const v of value) w.int(8, v);
    return w.int(20, ATTR_INTS);
  }
  if ('float' in value) return w.float(2, value.float).int(20, ATTR_FLOAT);
  return w.message(5, encodeTensor(value.tensor)).int(20, ATTR_TENSOR);
}

function encodeValueInfo(info: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of info.shape) {
    shape.message(1, typeof d === 'number' ? new ProtoWriter().int(1, d) : new ProtoWriter().string(2, d));
  }
  const tensorType = new ProtoWriter().int(1, info.elemType).message(2, shape);
  return new ProtoWriter().string(1, info.name).message(2, new ProtoWriter().message(1, tensorType));
}

export function encodeModel(model: Model): Uint8Array {
  const graph = new ProtoWriter();
  model.graph.nodes.forEach((node, i) => {
    const w = new ProtoWriter();
    for (const input of node.inputs) w.string(1, input);
    for (const output of node.outputs) w.string(2, output);
    w.string(3, node.name ?? `${node.opType}_${i}`).string(4, node.opType);
    for (const [name, value] of Object.entries(node.attributes ?? {})) w.message(5, encodeAttribute(name, value));
    if (node.domain) w.string(7, node.domain);
    graph.message(1, w);
  });
  graph.string(2, model.graph.name);
  for (const t of model.graph.initializers) graph.message(5, encodeTensor(t));
  for (const v of model.graph.inputs) graph.message(11, encodeValueInfo(v));
  for (const v of model.graph.outputs) graph.message(12, encodeValueInfo(v));

  const w = new ProtoWriter().int(1, 8); // ir_version 8
  w.string(2, model.producerName ?? 'hanmadi-converter');
  w.message(7, graph);
  for (const opset of model.opsets) w.message(8, new ProtoWriter().string(1, opset.domain).int(2, opset.version));
  return w.finish();
}
