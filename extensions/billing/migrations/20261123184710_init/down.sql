-- DropForeignKey
ALTER TABLE "billing_invoices" DROP CONSTRAINT "billing_invoices_organizationId_fkey";

-- DropForeignKey
ALTER TABLE "billing_invoice_lines" DROP CONSTRAINT "billing_invoice_lines_invoiceId_fkey";

-- DropIndex
DROP INDEX "User_billing_customer_id_key";

-- AlterTable
ALTER TABLE "User" DROP COLUMN "billing_customer_id";

-- DropTable
DROP TABLE "billing_invoices";

-- DropTable
DROP TABLE "billing_invoice_lines";

-- DropEnum
DROP TYPE "billing_invoice_status";
