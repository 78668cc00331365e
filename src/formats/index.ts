// capgate/formats: every text and binary form capabilities come in, in and out.
export { formatCapText, parseCapText, libcapName, type CapText } from "./libcap-text.js";
export { formatIab, parseIab, iabOf, type Iab } from "./iab.js";
export { parseMask, formatDecode } from "./decode.js";
export {
  formatName,
  formatNames,
  parseName,
  parseNames,
  containerCapabilities,
  CONTAINER_DEFAULT_CAPS,
  NAME_STYLES,
  type NameStyle,
  type ContainerCapRequest,
} from "./names.js";
export { parseStatus, stateFromStatus, type StatusFields } from "./proc-status.js";
export { describeOp, describeChange } from "./describe.js";
export { FormatError } from "./errors.js";
export { encodeFileCaps, decodeFileCaps, XattrError } from "../capabilities/xattr.js";
export { parseSetInput, parseCapability } from "../parse/sets.js";
export { InputError } from "../parse/errors.js";
