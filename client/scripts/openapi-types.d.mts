/** The client's types (the text of src/openapi.ts) from the server's OpenAPI document. */
export function openapiTypes(document: object): Promise<string>;
