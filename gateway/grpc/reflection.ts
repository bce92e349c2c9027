// gRPC server reflection (grpc.reflection.v1 and the older v1alpha that some tools still use), served
// from protobuf-es descriptors, so grpcurl, buf curl and Postman can call the gateway without its .proto
// files. File answers carry the requested file and all its transitive imports, serialized.
import { create, type DescFile, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  FileDescriptorProtoSchema,
} from "@bufbuild/protobuf/wkt";
import { Code } from "../../core/errors.ts";
import {
  file_grpc_reflection_v1_reflection,
  type ServerReflectionRequest,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  ServerReflection as ServerReflectionV1,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  ServerReflectionRequestSchema as AlphaRequestSchema,
  ServerReflectionResponseSchema as AlphaResponseSchema,
  file_grpc_reflection_v1alpha_reflection,
  ServerReflection as ServerReflectionV1alpha,
} from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { type AdaptedService, adaptService } from "./adapter.ts";

/** Both reflection services, ready to spread into createGrpcServer's `services`. */
export type ReflectionServices = readonly [v1: AdaptedService, v1alpha: AdaptedService];

type Response = MessageInitShape<typeof ServerReflectionResponseSchema>;
type Answer = Response["messageResponse"];

/** What reflection knows: every file reachable from the given ones, and where each symbol lives. */
interface Index {
  readonly services: readonly string[];
  readonly files: ReadonlyMap<string, DescFile>;
  readonly symbols: ReadonlyMap<string, DescFile>;
  /** Message type names, the only valid subjects of all_extension_numbers_of_type. */
  readonly messages: ReadonlySet<string>;
  /** extendee type name -> extension field number -> declaring file */
  readonly extensions: ReadonlyMap<string, ReadonlyMap<number, DescFile>>;
  /** The file followed by its transitive imports, each once, serialized. */
  closure(file: DescFile): Uint8Array[];
}

const REFLECTION_SERVICES = [ServerReflectionV1.typeName, ServerReflectionV1alpha.typeName];

/**
 * Builds both reflection services. `serviceNames` are listed by `list_services`; the reflection
 * services themselves are always listed, and their files always described. Throws when a listed
 * service is not declared in `files` or their imports.
 */
export function createReflectionServices(files: readonly DescFile[], serviceNames: readonly string[]): ReflectionServices {
  const index = buildIndex(
    [...files, file_grpc_reflection_v1_reflection, file_grpc_reflection_v1alpha_reflection],
    [...new Set([...serviceNames, ...REFLECTION_SERVICES])],
  );
  // A listed service that cannot be described would break clients later, at the worst moment.
  for (const name of serviceNames) {
    if (!index.symbols.get(name)?.services.some((service) => service.typeName === name)) {
      throw new Error(`reflection: service "${name}" is not declared in the given files`);
    }
  }

  const v1 = adaptService(ServerReflectionV1, {
    async serverReflectionInfo(requests, _context, send) {
      for await (const request of requests) send(answer(index, request));
    },
  });

  // v1alpha is wire-identical to v1, so its messages are re-read as v1 and answered by the same code.
  const v1alpha = adaptService(ServerReflectionV1alpha, {
    async serverReflectionInfo(requests, _context, send) {
      for await (const alpha of requests) {
        const request = fromBinary(ServerReflectionRequestSchema, toBinary(AlphaRequestSchema, alpha));
        const response = create(ServerReflectionResponseSchema, answer(index, request));
        send(fromBinary(AlphaResponseSchema, toBinary(ServerReflectionResponseSchema, response)));
      }
    },
  });

  return [v1, v1alpha];
}

function answer(index: Index, request: ServerReflectionRequest): Response {
  // Echoing the request and host is what clients use to match answers on a shared stream.
  return { validHost: request.host, originalRequest: request, messageResponse: resolve(index, request) };
}

function resolve(index: Index, request: ServerReflectionRequest): Answer {
  const req = request.messageRequest;
  switch (req.case) {
    case "listServices":
      return {
        case: "listServicesResponse",
        value: { service: index.services.map((name) => ({ name })) },
      };
    case "fileByFilename": {
      const file = index.files.get(req.value);
      return file ? files(index, file) : notFound(`file "${req.value}" not found`);
    }
    case "fileContainingSymbol": {
      const symbol = req.value.replace(/^\./, "");
      const file = index.symbols.get(symbol);
      return file ? files(index, file) : notFound(`symbol "${symbol}" not found`);
    }
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = req.value;
      const file = index.extensions.get(containingType.replace(/^\./, ""))?.get(extensionNumber);
      return file ? files(index, file) : notFound(`extension ${extensionNumber} of "${containingType}" not found`);
    }
    case "allExtensionNumbersOfType": {
      const type = req.value.replace(/^\./, "");
      if (!index.messages.has(type)) return notFound(`type "${type}" not found`);
      const numbers = [...(index.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
      return { case: "allExtensionNumbersResponse", value: { baseTypeName: type, extensionNumber: numbers } };
    }
    default:
      return { case: "errorResponse", value: { errorCode: Code.INVALID_ARGUMENT, errorMessage: "empty reflection request" } };
  }
}

function files(index: Index, file: DescFile): Answer {
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.closure(file) } };
}

function notFound(message: string): Answer {
  return { case: "errorResponse", value: { errorCode: Code.NOT_FOUND, errorMessage: message } };
}

function buildIndex(roots: readonly DescFile[], services: readonly string[]): Index {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  const messages = new Set<string>();

  // Walk the FileDescriptorProtos rather than protobuf-es' descriptors: only the former include
  // synthetic map-entry messages (e.g. google.protobuf.Struct.FieldsEntry) that clients may ask for.
  const addExtensions = (file: DescFile, fields: readonly FieldDescriptorProto[], scope: string): void => {
    for (const ext of fields) {
      symbols.set(scope + ext.name, file);
      const extendee = ext.extendee.replace(/^\./, "");
      const byNumber = extensions.get(extendee) ?? new Map<number, DescFile>();
      extensions.set(extendee, byNumber);
      byNumber.set(ext.number, file);
    }
  };
  const addEnum = (file: DescFile, e: EnumDescriptorProto, scope: string): void => {
    symbols.set(scope + e.name, file);
    // Enum values are scoped beside their enum, not inside it (protobuf's C++ scoping rule).
    for (const value of e.value) symbols.set(scope + value.name, file);
  };
  const addMessage = (file: DescFile, m: DescriptorProto, scope: string): void => {
    const name = scope + m.name;
    symbols.set(name, file);
    messages.add(name);
    for (const field of m.field) symbols.set(`${name}.${field.name}`, file);
    for (const oneof of m.oneofDecl) symbols.set(`${name}.${oneof.name}`, file);
    for (const nested of m.nestedType) addMessage(file, nested, `${name}.`);
    for (const nested of m.enumType) addEnum(file, nested, `${name}.`);
    addExtensions(file, m.extension, `${name}.`);
  };
  const addFile = (file: DescFile): void => {
    const fileName = `${file.name}.proto`;
    if (files.has(fileName)) return;
    files.set(fileName, file);
    for (const dep of file.dependencies) addFile(dep);
    const proto = file.proto;
    const scope = proto.package === "" ? "" : `${proto.package}.`;
    for (const m of proto.messageType) addMessage(file, m, scope);
    for (const e of proto.enumType) addEnum(file, e, scope);
    addExtensions(file, proto.extension, scope);
    for (const service of proto.service) {
      symbols.set(scope + service.name, file);
      for (const method of service.method) symbols.set(`${scope}${service.name}.${method.name}`, file);
    }
  };
  for (const root of roots) addFile(root);

  const serialized = new Map<DescFile, Uint8Array>();
  const bytesOf = (file: DescFile): Uint8Array => {
    const known = serialized.get(file);
    if (known) return known;
    const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    serialized.set(file, bytes);
    return bytes;
  };

  const index: Index = {
    services,
    files,
    messages,
    symbols,
    extensions,
    closure(file) {
      const seen = new Set<DescFile>();
      const out: Uint8Array[] = [];
      const visit = (f: DescFile): void => {
        if (seen.has(f)) return;
        seen.add(f);
        out.push(bytesOf(f));
        for (const dep of f.dependencies) visit(dep);
      };
      visit(file);
      return out;
    },
  };
  return index;
}
