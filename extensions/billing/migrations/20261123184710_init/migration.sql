-- orchestrate:requires core 20261123184710_init
-- CreateEnum
CREATE TYPE "billing_invoice_status" AS ENUM ('DRAFT', 'OPEN', 'PAID', 'VOID');

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "billing_customer_id" TEXT;

-- CreateTable
CREATE TABLE "billing_invoices" (
    "id" SERIAL NOT NULL,
    "number" TEXT NOT NULL,
    "status" "billing_invoice_status" NOT NULL DEFAULT 'DRAFT',
    "organizationId" INTEGER NOT NULL,
    "issuedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "billing_invoices_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "billing_invoice_lines" (
    "id" SERIAL NOT NULL,
    "invoiceId" INTEGER NOT NULL,
    "description" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL DEFAULT 1,
    "unitCents" INTEGER NOT NULL,

    CONSTRAINT "billing_invoice_lines_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "billing_invoices_number_key" ON "billing_invoices"("number");

-- CreateIndex
CREATE INDEX "billing_invoices_organizationId_status_idx" ON "billing_invoices"("organizationId", "status");

-- CreateIndex
CREATE UNIQUE INDEX "User_billing_customer_id_key" ON "User"("billing_customer_id");

-- AddForeignKey
ALTER TABLE "billing_invoices" ADD CONSTRAINT "billing_invoices_organizationId_fkey" FOREIGN KEY ("organizationId") REFERENCES "Organization"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "billing_invoice_lines" ADD CONSTRAINT "billing_invoice_lines_invoiceId_fkey" FOREIGN KEY ("invoiceId") REFERENCES "billing_invoices"("id") ON DELETE CASCADE ON UPDATE CASCADE;
