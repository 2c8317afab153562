/**
 * A move that cannot go on for a reason the operator can act on (a missing file, a target that is
 * not empty, a file that does not match the schema): the commands print its message as it is and
 * exit with code 1, where any other error is a bug and prints its stack.
 */
export class TransferError extends Error {
  override readonly name = "TransferError";
}
