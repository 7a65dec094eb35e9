// Synthetic projects for the benchmarks: a core (organizations, users, settings, an enum) and
// N extensions of four models each (prefixed tables, an enum, decimals, relations); every other
// extension relates its first model to core's User through an `extend model User` block.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const CORE = `datasource db {
  provider = "postgresql"
}

generator client {
  provider = "prisma-client"
  output   = "../generated/client"
}

model Organization {
  id    Int    @id @default(autoincrement())
  name  String
  users User[]
}

model User {
  id             Int          @id @default(autoincrement())
  email          String       @unique
  createdAt      DateTime     @default(now())
  organizationId Int
  organization   Organization @relation(fields: [organizationId], references: [id])
}

model Setting {
  key   String @id
  value Json
}

enum Plan {
  FREE
  PRO
}
`;

/**
 * One extension: four models with `<name>_` tables. Every other extension relates its first
 * model to core's User, which takes an `extend model User` block (back-relation and a column).
 */
export function extensionSchema(name, index) {
  const P = name[0].toUpperCase() + name.slice(1);
  const linksUser = index % 2 === 0;
  return `// extension ${name}
model ${P}Item {
  id        Int      @id @default(autoincrement())
  title     String   @db.VarChar(200)
  createdAt DateTime @default(now())
${linksUser ? `  userId    Int\n  user      User     @relation(fields: [userId], references: [id], onDelete: Cascade)\n` : ''}  entries   ${P}Entry[]

${linksUser ? '  @@index([userId])\n' : ''}  @@map("${name}_items")
}

model ${P}Entry {
  id       Int       @id @default(autoincrement())
  itemId   Int
  item     ${P}Item  @relation(fields: [itemId], references: [id])
  status   ${P}Status @default(OPEN)
  amount   Decimal   @db.Decimal(12, 2)
  logs     ${P}Log[]

  @@unique([itemId, id])
  @@map("${name}_entries")
}

model ${P}Tag {
  id    Int    @id @default(autoincrement())
  label String @unique

  @@map("${name}_tags")
}

model ${P}Log {
  id      BigInt    @id @default(autoincrement())
  entryId Int
  entry   ${P}Entry @relation(fields: [entryId], references: [id])
  message String

  @@map("${name}_logs")
}

enum ${P}Status {
  OPEN
  CLOSED

  @@map("${name}_status")
}
${
  linksUser
    ? `
extend model User {
  ${name}Items ${P}Item[]
  ${name}Note  String? @map("${name}_note")
}
`
    : ''
}`;
}

/** Writes a project with `count` extensions; returns their names. */
export function writeSyntheticProject(dir, count) {
  mkdirSync(path.join(dir, 'prisma'), { recursive: true });
  writeFileSync(path.join(dir, 'prisma/schema.prisma'), CORE);
  const names = [];
  for (let i = 1; i <= count; i++) {
    const name = `ext${String(i).padStart(2, '0')}`;
    names.push(name);
    mkdirSync(path.join(dir, 'extensions', name), { recursive: true });
    writeFileSync(path.join(dir, 'extensions', name, 'schema.prisma'), extensionSchema(name, i));
    writeFileSync(path.join(dir, 'extensions', name, 'extension.json'), `${JSON.stringify({ description: `synthetic extension ${i}` })}\n`);
  }
  return names;
}

