/** Letters that Unicode decomposition leaves alone, spelled as a bank's Latin-only file would. */
const foldedLetters: Readonly<Record<string, string>> = {
  ø: "o",
  æ: "ae",
  œ: "oe",
  đ: "d",
  ð: "d",
  þ: "th",
  ł: "l",
  ı: "i",
  ß: "ss",
};

/**
 * A name reduced to what a match compares: compatibility decomposition (NFKD) with the accents
 * dropped, case folded, the letters above spelled out, apostrophes dropped ("O'Brien" = "OBrien"),
 * any other punctuation a space ("Anne-Marie" = "Anne Marie"), and whitespace collapsed.
 */
export function normaliseName(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .toLowerCase()
    .replace(/[øæœđðþłıß]/gu, (letter) => foldedLetters[letter] ?? letter)
    .replace(/['’ʼ`´]/gu, "")
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/**
 * Whether a holder name is the verified legal name: the same words after normalising, in any order
 * ("Doe Jane" is "Jane Doe", as banks often write surname first). A word more or less (a middle
 * name) is a mismatch.
 */
export function namesMatch(holderName: string, legalName: string): boolean {
  const words = (name: string) => normaliseName(name).split(" ").filter(Boolean).sort().join(" ");
  const holder = words(holderName);
  return holder !== "" && holder === words(legalName);
}
